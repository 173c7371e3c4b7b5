"""Issue 24: what a load session's process pays around its run (start-up and exit), without timing asserts.

The checks are about *what* happens (which modules a run imports, whether the interpreter's
exit walks every object again), never about how long it takes: bench/run.py measures that.
"""

from __future__ import annotations

from plugin_helpers import SHOP_MODULE, load_args

# Imported through -p before any conftest, so its exit handler is registered before the
# plugin's own and runs after it (atexit runs handlers last-registered first): it sees the
# process as the interpreter's finalization will.
EXIT_PROBE = '''
import atexit, gc, os, sys

@atexit.register
def _at_the_very_end():
    with open(os.path.join(os.getcwd(), "exit_probe"), "w") as handle:
        handle.write(f"{gc.get_freeze_count()} {','.join(sorted(sys.modules))}")
'''

PLAIN_MODULE = '''
def test_plain():
    assert True
'''


def _probe(pytester) -> tuple[int, set[str]]:
    frozen, modules = (pytester.path / "exit_probe").read_text().split(" ", 1)
    return int(frozen), set(modules.split(","))


def test_a_load_sessions_exit_leaves_its_objects_to_the_os_and_a_plain_session_is_untouched(pytester, target):
    pytester.makepyfile(exit_probe=EXIT_PROBE, test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess("-p", "exit_probe", *load_args(target, users=2))
    result.assert_outcomes(passed=1)
    frozen, modules = _probe(pytester)
    # Frozen at exit: the interpreter's finalization collections skip what is still alive
    # (tenths of a second per process on a busy machine) instead of walking it all again.
    assert frozen > 10_000
    # A plain local run, nothing asked of it, loads none of what only other modes need.
    unneeded = {"numpy", "flask", "zmq", "jinja2", "prometheus_client",
                "geventhttpclient", "opentelemetry", "pytest_loadhooks.runners.master",
                "pytest_loadhooks.runners.worker", "pytest_loadhooks.web.server"}
    assert not unneeded & modules

    (pytester.path / "test_shop.py").unlink()
    pytester.makepyfile(test_plain=PLAIN_MODULE)
    result = pytester.runpytest_subprocess("-p", "exit_probe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    frozen, modules = _probe(pytester)
    assert frozen == 0
    assert not {"requests", "pytest_loadhooks.env", "pytest_loadhooks.runners"} & modules
