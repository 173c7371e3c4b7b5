"""Fixtures shared by the project's tests: real HTTP targets on 127.0.0.1."""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET_APP = ROOT / "examples" / "target_app.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; give up early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s (or its server exited)")


def serve_script(directory: Path, source: str):
    """Run ``source`` (a server that prints its port first) as a script for the caller's scope; yields its URL.

    For raw-socket servers that answer what no framework would (malformed, truncated, odd heads).
    """
    script = directory / "server.py"
    script.write_text(source)
    process = subprocess.Popen([sys.executable, str(script), "120"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


class Target:
    """A running examples/target_app.py process."""

    def __init__(self, scheme: str = "http", certfile: str | None = None, keyfile: str | None = None) -> None:
        self.port = free_port()
        # --max-seconds is only a safety net (the session stops the target): longer than a slow suite
        # takes, or its last tests meet a closed port (a suite of 17 min once outlived 900 s).
        command = [sys.executable, str(TARGET_APP), "--port", str(self.port), "--max-seconds", "5400"]
        if certfile:
            command += ["--certfile", certfile, "--keyfile", keyfile]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def target():
    """URL of a real HTTP server (examples/target_app.py) on 127.0.0.1, shared by the session."""
    server = Target()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def tls_target(tmp_path_factory):
    """(URL, CA file) of a real HTTPS server on 127.0.0.1 with a self-signed certificate."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    server = Target("https", str(cert), str(key))
    yield server.url, str(cert)
    server.stop()


LOCUST_REQUIREMENT = "locust>=2.30,<3"


@pytest.fixture(scope="session")
def locust_python(tmp_path_factory):
    """The python of a throw-away venv holding real Locust (built once per session; it also sees
    this interpreter's packages, this project included)."""
    venv = tmp_path_factory.mktemp("locust-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    see_our_packages(python)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    LOCUST_REQUIREMENT], check=True, timeout=600)
    return str(python)


def see_our_packages(python: Path) -> None:
    """Make the throw-away venv see this interpreter's site directories, after its own.

    ``venv --system-site-packages`` is not enough: run from a virtual environment it links
    the base interpreter's packages, not the environment's, where this project is installed.
    ``site.addsitedir`` (unlike a plain path line) also runs the directories' own .pth files,
    which is how an editable install of this project is found.
    """
    ours = [path for path in [*site.getsitepackages(), site.getusersitepackages(),
                              sysconfig.get_paths()["purelib"]] if Path(path).is_dir()]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    lines = "; ".join(f"site.addsitedir({path!r})" for path in dict.fromkeys(ours))
    (Path(purelib) / "zz_parent_site.pth").write_text(f"import site; {lines}\n")


@pytest.fixture
def refused_url():
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # Load traffic must go straight to 127.0.0.1, whatever the machine's proxy settings.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


# --------------------------------------------------------------------------- issue 22: telemetry receivers
@pytest.fixture(scope="session")
def prometheus_server():
    """Debian's Prometheus on 127.0.0.1, scraping what each test names (tests/telemetry_servers.py)."""
    from telemetry_servers import PrometheusServer

    server = PrometheusServer(free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def otlp_receiver():
    """A real OTLP/HTTP receiver (opentelemetry-proto's messages on an HTTP server)."""
    from telemetry_servers import OtlpReceiver

    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


# --- issue 23 (other systems, part b): real servers for contrib.mongodb and contrib.milvus, once a session ---

@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """NX-27017 (a MongoDB wire-protocol server on SQLite, from PyPI) on 127.0.0.1: ``.port``."""
    from contrib_b_support import start_nx_27017

    server = start_nx_27017(tmp_path_factory.mktemp("nx-27017"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """Milvus Lite's gRPC server on 127.0.0.1: ``.port``."""
    from contrib_b_support import start_milvus_lite

    server = start_milvus_lite(tmp_path_factory.mktemp("milvus-lite"))
    yield server
    server.stop()
