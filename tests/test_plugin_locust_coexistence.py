"""Both plugins in one environment: Locust's own pytest plugin auto-loads beside ours.

Locust is never a dependency of this project: the ``locust_python`` fixture (tests/conftest.py)
installs it into a throw-away virtual environment that also sees every package the running
interpreter sees (this project included).
"""

from __future__ import annotations

import subprocess

from plugin_helpers import SHOP_MODULE, load_args


def test_load_session_with_locust_installed(pytester, target, locust_python):
    pytester.makeconftest("import requests  # imported early, as real conftests do\n")
    pytester.makepyfile(
        test_both=SHOP_MODULE + '''
import locust  # importing Locust after our early patch is safe (its own patch_all has nothing left to do)

def test_session_fixture_is_locusts(request):
    assert request.config.pluginmanager.has_plugin("locust")
    assert request.config.pluginmanager.has_plugin("loadhooks")

def test_result(load_result):
    assert load_result.num_requests > 0 and load_result.fail_ratio == 0
'''
    )
    result = subprocess.run(
        [locust_python, "-m", "pytest", *load_args(target, users=2), "-v"],
        cwd=pytester.path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "locust-" in result.stdout and "loadhooks-" in result.stdout
    assert "3 passed" in result.stdout


def test_help_has_locusts_host_and_our_load_host(pytester, locust_python):
    result = subprocess.run([locust_python, "-m", "pytest", "--help"], cwd=pytester.path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "-H HOST, --host=HOST" in result.stdout or "--host=HOST, -H HOST" in result.stdout
    assert "--load-host=URL" in result.stdout


def test_plain_session_with_locust_installed_is_not_patched(pytester, locust_python):
    pytester.makepyfile(
        test_plain='''
        def test_plain():
            from gevent import monkey
            assert not monkey.is_module_patched("socket")
        '''
    )
    result = subprocess.run([locust_python, "-m", "pytest", "-p", "no:cacheprovider"], cwd=pytester.path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
