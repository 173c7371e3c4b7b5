"""Servers and helpers for the tests of the other systems' users (issue 23: contrib.mongodb, .milvus,
.qdrant, .oai, and the gRPC / XML-RPC examples).

Every server here is real and listens on 127.0.0.1: NX-27017 (a MongoDB wire-protocol server on
SQLite, from PyPI: MongoDB itself is in neither Debian nor PyPI), Milvus Lite's gRPC server, and in
front of them a :class:`DelayProxy` that makes one user's server slow (every answer held back) for
the gevent checks, or a :class:`StallingServer` that accepts connections and never answers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import free_port, wait_for_port

VENV_BIN = Path(sys.executable).parent

def ask_in_subprocess(code: str) -> object:
    """Run ``code`` in a fresh interpreter and return the JSON it prints last.

    What talks to a server through grpc (pymilvus, qdrant-client, the gRPC example's stub) runs
    there, never in the test process: once grpc is loaded in a process, a child it starts can die
    of SIGABRT between fork and exec (grpc's poller restarted in the child meets the epoll fd that
    subprocess closed: grpc/grpc issue 43055), and this suite starts many children.
    """
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"the server question failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class ServerProcess:
    """A server started as a subprocess on a free 127.0.0.1 port, stopped by :meth:`stop`."""

    def __init__(self, command: list[str], port: int, log: Path, timeout: float = 60.0) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout, self.process)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{command[0]} did not listen on {port}: {log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_nx_27017(directory: Path) -> ServerProcess:
    """NX-27017 on an in-memory SQLite database: pymongo talks to it as to mongod."""
    port = free_port()
    # Its PID file defaults to one path for the whole machine (/tmp/nx_27017.pid): one of its own here.
    return ServerProcess([str(VENV_BIN / "nx-27017"), "--db", "memory", "--host", "127.0.0.1", "-p", str(port),
                          "--pid-file", str(directory / "nx-27017.pid")],
                         port, directory / "nx-27017.log")


def start_milvus_lite(directory: Path) -> ServerProcess:
    """Milvus Lite's own gRPC server on a data directory of its own."""
    port = free_port()
    return ServerProcess([str(VENV_BIN / "milvus-lite"), "server", "--data-dir", str(directory / "milvus-data"),
                          "--host", "127.0.0.1", "--port", str(port)], port, directory / "milvus-lite.log", 120)


class _Listener:
    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)
            self.serve(connection)

    def serve(self, connection: socket.socket) -> None:
        """Keep the connection open and say nothing (a server that never answers)."""

    def stop(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


class StallingServer(_Listener):
    """Accepts every connection and never sends a byte: each call to it waits for its timeout."""


class DelayProxy(_Listener):
    """Forwards to ``127.0.0.1:upstream`` and holds every chunk of the answer back ``delay`` seconds:
    the real server behind it, made slow for the users that go through it."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            connection.close()
            return
        self.held.append(upstream)
        threading.Thread(target=self._pump, args=(connection, upstream, 0.0), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, connection, self.delay), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
        try:
            while chunk := source.recv(65536):
                time.sleep(delay)
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
