"""Real servers for the contrib users' tests (tests/test_contrib_*.py) and helpers to read their runs.

Each server runs on 127.0.0.1 on a free port, is started once by a module-scoped fixture and
stopped by it: PostgreSQL (Debian's package, a throwaway cluster; as root, run as a system
user made for it, since PostgreSQL refuses to run as root), Mosquitto (Debian's, our own
config), and the example servers in examples/other_systems/ (python-socketio, a dnspython DNS).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import ROOT, free_port, wait_for_port

EXAMPLES = ROOT / "examples" / "other_systems"
PG_SYSTEM_USER = "loadhooks-pg"

def run_args(users: int, run_time: str = "3s") -> list[str]:
    """A short run; a stop timeout lets each user finish the request it is making when the run ends
    (users between tasks stop at once), so none the server answered goes unrecorded."""
    return [f"--load-users={users}", "--load-spawn-rate=100", f"--load-run-time={run_time}", "--load-stop-timeout=5s",
            "-p", "no:cacheprovider"]


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def postgres_bin() -> Path:
    """Debian's PostgreSQL server binaries (the newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server is missing: apt-get install postgresql (see scripts/setup-dev.sh)")
    return Path(found[-1]).parent


class PostgresServer:
    """A throwaway PostgreSQL cluster with pg_stat_statements, trust auth on 127.0.0.1."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="loadhooks-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.as_user = self._system_user_prefix()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        settings = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                    "-c shared_preload_libraries=pg_stat_statements -c fsync=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", settings, "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _system_user_prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            account = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            PG_SYSTEM_USER], check=True)
            account = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.dir, account.pw_uid, account.pw_gid)
        return ["runuser", "-u", PG_SYSTEM_USER, "--"]

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    def failed_statements(self, marker: str) -> int:
        """How many statements containing ``marker`` the server logged as failed (it logs the
        STATEMENT of every ERROR: log_min_error_statement's default)."""
        return sum(1 for line in self.log.read_text().splitlines() if " STATEMENT: " in line and marker in line)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class MosquittoServer:
    """Debian's Mosquitto on a free port: user ``loadtest`` (password ``secret``) may use loadtest/#
    only (its ACL); anonymous clients are refused."""

    USER, PASSWORD = "loadtest", "secret"

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(binary):
            raise RuntimeError("mosquitto is missing: apt-get install mosquitto (see scripts/setup-dev.sh)")
        self.dir = Path(tempfile.mkdtemp(prefix="loadhooks-mqtt-"))
        self.dir.chmod(0o755)  # as root, mosquitto reads its files as its own user
        self.port = free_port()
        acl, passwords, config = self.dir / "acl", self.dir / "passwords", self.dir / "mosquitto.conf"
        self.log = self.dir / "mosquitto.log"
        acl.write_text(f"user {self.USER}\ntopic readwrite loadtest/#\n")
        subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b", "-c", str(passwords),
                        self.USER, self.PASSWORD], check=True, capture_output=True)
        self.log.touch()
        config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                          f"acl_file {acl}\npersistence false\nmax_queued_messages 100000\n"
                          f"log_dest file {self.log}\nlog_type all\nconnection_messages true\n")
        for path in (acl, passwords, config, self.log):
            path.chmod(0o666 if path == self.log else 0o644)
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


class ExampleServer:
    """One of examples/other_systems/*_server.py in a subprocess."""

    def __init__(self, script: str, *args: str) -> None:
        self.port = free_port()
        command = [sys.executable, str(EXAMPLES / script), "--port", str(self.port), "--max-seconds", "5400", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        stop_process(self.process)


def run_example(name: str, env: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run examples/other_systems/<name>_loadtest.py as its docs say, with ``env`` pointing it at a server."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOADHOOKS_")}
    command = [sys.executable, "-m", "pytest", str(EXAMPLES / f"{name}_loadtest.py"), "--load-users=2",
               "--load-spawn-rate=10", "--load-run-time=1s", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
                          env={**environment, **env})
