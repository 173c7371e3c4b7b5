"""Authenticated, encrypted transport from one shared secret (ZeroMQ CURVE + ZAP).

Both sides derive the same two CURVE key pairs from the secret: the master's (its
public key is what a worker must know to even complete the handshake) and the
workers' (the only client key the master's ZAP handler lets in). So a peer without
the secret can neither decrypt the traffic nor join, and no key files need to be
distributed: the secret, given to every node, is all they share.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import zmq.green as zmq
from zmq.utils import z85

logger = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by the ZAP specification (RFC 27)
ZAP_VERSION = b"1.0"
ZAP_DOMAIN = b"pytest-loadhooks"
# Slow on purpose (~0.1 s, once per process): a captured handshake should not make a
# weak secret cheap to guess.
KDF_ITERATIONS = 200_000
# What `--load-processes` generates when no secret is given: 256 random bits, which stretching
# cannot make harder to guess. Such a secret skips the KDF's rounds, which cost about 0.23 s of
# CPU in every process (the master and each local worker derive both key pairs) at start-up.
GENERATED_PREFIX = "generated-256:"
GENERATED_LENGTH = len(GENERATED_PREFIX) + 43  # secrets.token_urlsafe(32) is 43 characters


def generated_secret() -> str:
    """A fresh random secret for a session's own workers (it never leaves this machine)."""
    return GENERATED_PREFIX + secrets.token_urlsafe(32)


def kdf_iterations(secret: bytes) -> int:
    """How many PBKDF2 rounds turn ``secret`` into keys: all of them unless the session generated it."""
    generated = secret.startswith(GENERATED_PREFIX.encode()) and len(secret) >= GENERATED_LENGTH
    return 1 if generated else KDF_ITERATIONS


@dataclass(frozen=True)
class KeyPair:
    public: bytes  # Z85, 40 bytes, as zmq's CURVE options take them
    secret: bytes


@dataclass(frozen=True)
class CurveKeys:
    """The master's and the workers' key pairs, derived from the shared secret."""

    master: KeyPair
    worker: KeyPair

    @classmethod
    def from_secret(cls, secret: str | bytes) -> CurveKeys:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not secret:
            raise ValueError("the secret must not be empty")
        return cls(master=_derive(secret, b"master"), worker=_derive(secret, b"worker"))


def _derive(secret: bytes, role: bytes) -> KeyPair:
    # Any 32 bytes are a valid Curve25519 secret key (libsodium clamps them), so a
    # key derivation function's output serves directly.
    raw = hashlib.pbkdf2_hmac("sha256", secret, b"pytest-loadhooks curve " + role, kdf_iterations(secret))
    secret_key = z85.encode(raw)
    return KeyPair(public=zmq.curve_public(secret_key), secret=secret_key)


def make_curve_server(socket: Any, keys: CurveKeys) -> None:
    socket.curve_server = True
    socket.curve_secretkey = keys.master.secret
    socket.curve_publickey = keys.master.public
    socket.zap_domain = ZAP_DOMAIN


def make_curve_client(socket: Any, keys: CurveKeys) -> None:
    socket.curve_serverkey = keys.master.public
    socket.curve_publickey = keys.worker.public
    socket.curve_secretkey = keys.worker.secret


class ZapAuthenticator:
    """Answers the ZAP requests of one zmq context: CURVE clients holding the workers'
    key are accepted, every other peer is refused (and logged).

    pyzmq's own authenticators run in a thread or an asyncio loop; this one is a
    greenlet, so it lives in the gevent hub with the runner it guards.
    """

    def __init__(self, context: Any, keys: CurveKeys,
                 on_refused: Callable[[str | None, str], None] | None = None) -> None:
        self.allowed_key = z85.decode(keys.worker.public)
        self.refused = 0
        self.on_refused = on_refused  # None: the server's socket monitor reports the refusal
        self.socket = context.socket(zmq.REP)
        self.socket.linger = 0
        self.socket.bind(ZAP_ENDPOINT)
        self.greenlet = gevent.spawn(self._serve)
        self.greenlet.name = "zap-authenticator"

    def _serve(self) -> None:
        while True:
            try:
                request = self.socket.recv_multipart()
            except zmq.ZMQError:
                return  # socket closed
            self.socket.send_multipart(self.answer(request))

    def answer(self, request: list[bytes]) -> list[bytes]:
        if len(request) < 6 or request[0] != ZAP_VERSION:
            request_id = request[1] if len(request) > 1 else b""
            return [ZAP_VERSION, request_id, b"400", b"malformed ZAP request", b"", b""]
        _version, request_id, _domain, address, _identity, mechanism, *credentials = request
        if mechanism == b"CURVE" and credentials and credentials[0] == self.allowed_key:
            return [ZAP_VERSION, request_id, b"200", b"OK", b"worker", b""]
        self.refused += 1
        host = address.decode("utf-8", "replace") or None
        why = f"its key is not the workers' key of this secret ({mechanism.decode('ascii', 'replace')})"
        if self.on_refused is not None:
            self.on_refused(host, why)
        else:
            # The server's socket monitor sees the failed handshake too, and says it (rate-limited).
            logger.debug("refused a connection from %s: %s", host or "an unknown address", why)
        return [ZAP_VERSION, request_id, b"400", b"unknown key", b"", b""]

    def close(self) -> None:
        self.greenlet.kill(block=False)
        self.socket.close(linger=0)
