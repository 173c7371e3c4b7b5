"""Re-export shim: FastHttpUser moved to :mod:`pytest_loadhooks.contrib.fasthttp` (Locust's path).

Kept so that ``from pytest_loadhooks.fasthttp import FastHttpUser``, written before the move,
goes on working; new code imports from ``pytest_loadhooks.contrib.fasthttp`` or the package.
"""

from .contrib.fasthttp import FastHttpSession, FastHttpUser, FastResponse, RequestTimeout, TooManyRedirects

__all__ = ["FastHttpSession", "FastHttpUser", "FastResponse", "RequestTimeout", "TooManyRedirects"]
