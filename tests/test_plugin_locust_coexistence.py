"""Both plugins in one environment: Locust's own pytest plugin auto-loads beside ours.

Locust is never a dependency of this project: the test installs it into a
throw-away virtual environment that also sees every package the running interpreter sees
(this project included), whether that is the system Python or a virtual environment.
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from plugin_helpers import SHOP_MODULE, load_args

LOCUST_REQUIREMENT = "locust>=2.30,<3"


@pytest.fixture(scope="session")
def locust_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("locust-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    see_our_packages(python)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    LOCUST_REQUIREMENT], check=True, timeout=600)
    return str(python)


def see_our_packages(python: Path) -> None:
    """Make the throw-away venv see this interpreter's site directories, after its own.

    ``venv --system-site-packages`` is not enough: run from a virtual environment it links
    the base interpreter's packages, not the environment's, where this project is installed.
    ``site.addsitedir`` (unlike a plain path line) also runs the directories' own .pth files,
    which is how an editable install of this project is found.
    """
    ours = [path for path in [*site.getsitepackages(), site.getusersitepackages(),
                              sysconfig.get_paths()["purelib"]] if Path(path).is_dir()]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    lines = "; ".join(f"site.addsitedir({path!r})" for path in dict.fromkeys(ours))
    (Path(purelib) / "zz_parent_site.pth").write_text(f"import site; {lines}\n")


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
