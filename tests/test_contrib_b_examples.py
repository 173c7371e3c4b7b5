"""The examples of examples/other_systems against real servers (issue 23).

The MongoDB, Milvus, Qdrant and OpenAI examples each run as their docstring says, against NX-27017,
Milvus Lite's server, qdrant-client's local mode and the example target, and pass with requests of
their user's type in the results (the four run side by side).

The gRPC and XML-RPC servers are the examples' own (grpcio's server; the standard library's XML-RPC
server), started once per session on 127.0.0.1. For each: the example directory runs as documented and passes; and
a run of the example's user class with a call the server refuses and one user whose calls take
1.5 s on the server shows the request events equal to what the server counted (answered and
refused/faulted; users finish their task at the end), the refusals as failures carrying the
server's error, and the other users completing requests while a slow call waits. No timing
assertions: only that others completed something while a slow call waited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xmlrpc.client
from pathlib import Path

import pytest

from conftest import free_port
from contrib_b_support import ServerProcess, ask_in_subprocess
from request_log import REQUEST_RECORDER, ended_during, read_requests

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "other_systems"

GRPC_MODULE = textwrap.dedent('''
    from grpc_user import GrpcUser
    from hello_stubs import hello_pb2, hello_pb2_grpc
    from pytest_loadhooks import constant, task

    class Greeted(GrpcUser):
        stub_class = hello_pb2_grpc.GreeterStub
        wait_time = constant(0.02)

        @task(4)
        def hello(self):
            self.stub.SayHello(hello_pb2.HelloRequest(name="load"))

        @task(1)
        def nameless(self):
            self.stub.SayHello(hello_pb2.HelloRequest(name=""))

    class Patient(GrpcUser):
        stub_class = hello_pb2_grpc.GreeterStub
        fixed_count = 1
        wait_time = constant(0)

        @task
        def slow_hello(self):
            self.stub.SayHello(hello_pb2.HelloRequest(name="patient", delay_ms=1500))
''')

XMLRPC_MODULE = textwrap.dedent('''
    from xmlrpc_user import XmlRpcUser
    from pytest_loadhooks import constant, task

    class Caller(XmlRpcUser):
        wait_time = constant(0.02)

        @task(4)
        def get_time(self):
            self.client.get_time()

        @task(1)
        def divide_by_zero(self):
            self.client.divide(1, 0)

    class Patient(XmlRpcUser):
        fixed_count = 1
        wait_time = constant(0)

        @task
        def slow_time(self):
            self.client.get_time(1500)
''')


def start_example_server(script: Path, directory: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, str(script), "--port", str(port), "--max-seconds", "3000"], port,
                         directory / f"{script.stem}.log", timeout=30)


@pytest.fixture(scope="session")
def grpc_server(tmp_path_factory):
    server = start_example_server(EXAMPLES / "grpc" / "hello_server.py", tmp_path_factory.mktemp("grpc"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xmlrpc_server(tmp_path_factory):
    server = start_example_server(EXAMPLES / "xmlrpc" / "xmlrpc_server.py", tmp_path_factory.mktemp("xmlrpc"))
    yield server
    server.stop()


def start_example_directory(name: str, host: str | None, **env: str) -> subprocess.Popen:
    """The example's directory run as its docstring says (3 users, 2 s: an OpenAI client takes ~1 s to build)."""
    host_option = [f"--load-host={host}"] if host else []
    return subprocess.Popen([sys.executable, "-m", "pytest", str(EXAMPLES / name), "--load-users=3",
                             "--load-run-time=2s", *host_option, "-p", "no:cacheprovider"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=EXAMPLES / name,
                            env={**os.environ, **env})


def run_example_directory(name: str, host: str | None, **env: str) -> subprocess.CompletedProcess:
    process = start_example_directory(name, host, **env)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_module(pytester, monkeypatch, example: str, module: str, host: str):
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLES / example))
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_other_system=module)
    result = pytester.runpytest_subprocess("--load-users=4", "--load-run-time=3s", "--load-stop-timeout=10s",
                                           f"--load-host={host}", "-p", "no:cacheprovider")
    requests = read_requests(pytester.path)
    assert requests, result.stdout.str()[-3000:] + result.stderr.str()[-3000:]
    return requests


def check_slow_call(requests: list[dict]) -> None:
    slow = max(requests, key=lambda r: r["response_time"])
    assert slow["response_time"] >= 1500
    assert len(ended_during(slow, requests)) >= 3, (slow, len(requests))


def grpc_served(port: int) -> tuple[int, int]:
    """The server's own counts (its Served call), asked from another process (see ask_in_subprocess)."""
    answered, refused = ask_in_subprocess(textwrap.dedent(f'''
        import json, sys
        sys.path.insert(0, {str(EXAMPLES / "grpc")!r})
        import grpc
        from hello_stubs import hello_pb2, hello_pb2_grpc
        with grpc.insecure_channel("127.0.0.1:{port}") as channel:
            served = hello_pb2_grpc.GreeterStub(channel).Served(hello_pb2.ServedRequest(), timeout=30)
        print(json.dumps([served.answered, served.refused]))
    '''))
    return answered, refused


def test_grpc_example(pytester, grpc_server, monkeypatch):
    host = f"http://127.0.0.1:{grpc_server.port}"
    example = run_example_directory("grpc", host)
    assert example.returncode == 0, example.stdout[-3000:] + example.stderr[-2000:]
    assert "/loadhooks.hello.Greeter/SayHello" in example.stdout

    before = grpc_served(grpc_server.port)
    requests = run_module(pytester, monkeypatch, "grpc", GRPC_MODULE, host)
    answered, refused = (now - then for now, then in zip(grpc_served(grpc_server.port), before))
    assert {(r["type"], r["name"]) for r in requests} == {("grpc", "/loadhooks.hello.Greeter/SayHello")}
    failed = [r for r in requests if r["failed"]]
    assert (len(requests) - len(failed), len(failed)) == (answered, refused)
    assert failed and all("a name is required" in r["exception"] for r in failed), failed[:3]
    check_slow_call(requests)


def test_xmlrpc_example(pytester, xmlrpc_server, monkeypatch):
    host = f"http://127.0.0.1:{xmlrpc_server.port}/"
    example = run_example_directory("xmlrpc", host)
    assert example.returncode == 0, example.stdout[-3000:] + example.stderr[-2000:]
    assert "get_random_number" in example.stdout

    server = xmlrpc.client.ServerProxy(host)
    before = server.served()
    requests = run_module(pytester, monkeypatch, "xmlrpc", XMLRPC_MODULE, host)
    after = server.served()
    assert {r["type"] for r in requests} == {"xmlrpc"}
    failed = [r for r in requests if r["failed"]]
    assert len(requests) - len(failed) == after.get("answered", 0) - before.get("answered", 0)
    assert len(failed) == after.get("faulted", 0) - before.get("faulted", 0)
    assert failed and all(r["name"] == "divide" and "division by zero" in r["exception"] for r in failed)
    check_slow_call(requests)


def test_database_and_openai_examples(mongo_server, milvus_server, target):
    """Each runs and passes (its fail-ratio threshold included), its requests in the results table."""
    started = {
        "mongodb": (start_example_directory("mongodb", None,
                                            MONGODB_URI=f"mongodb://127.0.0.1:{mongo_server.port}/"), "MONGODB"),
        "milvus": (start_example_directory("milvus", f"http://127.0.0.1:{milvus_server.port}"), "milvus"),
        "qdrant": (start_example_directory("qdrant", None), "qdrant"),
        "openai": (start_example_directory("openai", f"{target}/v1", OPENAI_API_KEY="not-a-real-key"), "POST"),
    }
    for name, (process, request_type) in started.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, (name, stdout[-3000:] + stderr[-2000:])
        assert f"\n{request_type} " in stdout, (name, stdout[-3000:])
