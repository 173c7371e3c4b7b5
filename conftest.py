"""Root conftest of the project's own test suite.

The engine's tests run users as greenlets in this process, so the suite patches
gevent here, before any test module imports requests or ssl (the same early point
the plugin uses for load sessions). Sessions under test run in subprocesses
(pytester.runpytest_subprocess) and patch themselves.
"""

from gevent import monkey

monkey.patch_all()
