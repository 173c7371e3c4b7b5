"""Credentials out of what the run writes: ``http://user:secret@host`` becomes ``http://user:***@host``.

A host given as ``--load-host=http://user:secret@127.0.0.1:8089`` (basic auth in the URL,
as requests and Locust accept it) would otherwise reach the JSON, the HTML and every
error message that quotes the URL. :func:`mask_url_credentials` masks the password part
of every URL inside a piece of text; the report document applies it to each of its
strings, and the terminal view can apply it to what it prints.
"""

from __future__ import annotations

import re

PASSWORD_MASK = "***"

# A URL's scheme and authority (what lies between "://" and the path). The authority stops at
# whitespace, quotes and angle brackets too, so a URL quoted inside an error message ends where its quote does.
_URL_AUTHORITY = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^/?#\s\"'<>`]*)")


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by ``***``.

    The user name stays (it tells which account was used, and is rarely the secret); a URL
    without a password is left as it is. Works on a bare URL as on a URL inside a sentence.
    """
    if "@" not in text or "://" not in text:  # the common case, without running the pattern
        return text
    return _URL_AUTHORITY.sub(_mask_authority, text)


def _mask_authority(match: re.Match[str]) -> str:
    # The host follows the last "@": a password may hold an unencoded "@" of its own.
    userinfo, at, host = match["authority"].rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return match[0]
    return f"{match['scheme']}{user}:{PASSWORD_MASK}@{host}"
