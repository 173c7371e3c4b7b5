"""One-line errors for a contrib user whose client library (an optional extra) is not installed.

Every ``pytest_loadhooks.contrib.<system>`` module imports its client library through
:func:`require`, so a missing library fails the import with the pip command that installs it,
not with a bare ``No module named 'psycopg'`` deep in a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """A contrib module's client library is missing; the message names the extra to install."""


def missing_extra_message(module: str, extra: str, feature: str) -> str:
    """The one line a missing client library is reported with: its top-level package, what one installs
    (``dns``, not the ``dns.query`` module imported from it)."""
    package = module.partition(".")[0]
    return (f"{feature} needs the '{package}' package, which is not installed: "
            f"pip install 'pytest-loadhooks[{extra}]'")


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pytest-loadhooks[extra]``.

    ``feature`` is what the user imported (e.g. ``pytest_loadhooks.contrib.postgres``). Only
    a missing ``module`` itself (or a package it is in) becomes the one-line error: a module
    missing for an installed library (its own broken dependency) is a real fault and
    propagates unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not (module == error.name or module.startswith(error.name + ".")):
            raise
        raise MissingExtraError(missing_extra_message(module, extra, feature), name=module) from None
