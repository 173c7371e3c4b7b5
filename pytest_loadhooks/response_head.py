"""A response's status line and headers read as http.client reads them, without the email package.

http.client hands every response's header block to ``email.parser`` (its feedparser: a
line-by-line state machine in Python) to build an ``http.client.HTTPMessage``; that is about a
tenth of an ``HttpUser`` request's CPU. :class:`FastHeadHTTPResponse` reads the same bytes the
same way and, when the block is plain ``Name: value`` lines (what servers send), builds the same
``HTTPMessage`` itself: the same (name, value) pairs in order (repeated headers kept, values
with leading blanks stripped as the email package strips them), the same empty payload and no
defects. Anything else (folded lines, a line without a colon, bytes outside printable ASCII, a
``multipart``/``message`` content type, which the email package parses further, a block cut off
by EOF) goes to ``http.client.parse_headers``'s parser, as before. So ``.msg``, ``.headers``,
``getheader``, ``get_all`` (cookies) and ``items()`` (urllib3) read what they always read.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from http import HTTPStatus

# http.client's limits, the same numbers (its own constants are private).
MAX_LINE = 65536
MAX_HEADERS = 100

# A header line the email package reads as exactly one (name, value) pair with no defect: a name of
# the characters it accepts in one (printable ASCII but ':'), a value of printable ASCII and tabs.
_PLAIN_BLOCK = re.compile(r"(?:[!-9;-~]+:[\t -~]*\r?\n)*\r?\n")
_PLAIN_LINE = re.compile(r"([!-9;-~]+):[\t ]*([\t -~]*)\r?\n")
# Content types whose (empty) body the email package goes on to parse, with results of its own.
_PARSED_FURTHER = ("multipart", "message")


def read_header_lines(fp) -> list[bytes]:
    """The header block's lines as http.client reads them (same limits, same errors)."""
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def parse_header_block(block: str) -> http.client.HTTPMessage:
    """The ``HTTPMessage`` ``email.parser`` makes of a decoded header block, built directly when plain."""
    if _PLAIN_BLOCK.fullmatch(block):
        pairs = _PLAIN_LINE.findall(block)
        if not any(name.lower() == "content-type" and value.lower().startswith(_PARSED_FURTHER)
                   for name, value in pairs):
            message = http.client.HTTPMessage()
            for name, value in pairs:
                message.set_raw(name, value)
            message.set_payload("")
            return message
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(block)


def parse_headers(fp) -> http.client.HTTPMessage:
    """``http.client.parse_headers(fp)``, the same message, mostly without the email package."""
    return parse_header_block(b"".join(read_header_lines(fp)).decode("iso-8859-1"))


class FastHeadHTTPResponse(http.client.HTTPResponse):
    """http.client's response, whose ``begin()`` parses the header block with :func:`parse_headers`.

    ``begin`` is http.client's own sequence (skip 100-continue heads, status and version, chunked,
    keep-alive, length); only the header parse differs, and it builds the same message.
    """

    def begin(self) -> None:
        if self.headers is not None:  # already begun
            return
        if self.debuglevel > 0:  # http.client's own, which prints what it reads
            super().begin()
            return
        while True:  # skip interim 100 Continue heads
            version, status, reason = self._read_status()
            if status != HTTPStatus.CONTINUE:
                break
            read_header_lines(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = parse_headers(self.fp)
        self._after_headers(status)

    def _after_headers(self, status: int) -> None:
        """What http.client's ``begin`` decides from the headers: chunked, close, length."""
        transfer_encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer_encoding and transfer_encoding.lower() == "chunked")
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:  # a negative length means none
                    self.length = None
        if status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED) or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # no length on a kept connection: the body ends when it closes
