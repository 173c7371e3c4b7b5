"""Root conftest of the project's own test suite.

The engine's tests run users as greenlets in this process, so the suite patches
gevent here, before any test module imports requests or ssl (the same early point
the plugin uses for load sessions). Sessions under test run in subprocesses
(pytester.runpytest_subprocess) and patch themselves.
"""

import warnings

from gevent import monkey

with warnings.catch_warnings():
    # anyio's pytest plugin (installed with httpx/openai, the contrib extras' clients) imports ssl before
    # any conftest; gevent then warns that ssl was imported first. The plugin's own patch ignores that
    # warning for the same reason (plugin/startup.py): nothing here uses anyio's TLS streams.
    warnings.simplefilter("ignore", monkey.MonkeyPatchWarning)
    monkey.patch_all()
