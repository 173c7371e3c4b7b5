"""The layers hold: the pytest layer on top, outputs below it, the engine at the bottom.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run import-linter's
own command on the package, and on a copy of it with one wrong import added, so a broken
contract is seen to fail, not only a kept one to pass: an upward import, pytest below the plugin,
the web UI and the comparisons knowing each other, and an import cycle between sibling modules.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_loadhooks"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin", "HOME": str(project)}
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())", "--config", str(project / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def copy_project(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "pytest_loadhooks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


CONTRACTS = ("pytest layer -> outputs -> engine", "only the pytest layer imports pytest",
             "the web UI and the comparisons are independent", "no import cycles between sibling modules",
             "a run's participants above the run, the run above its lifecycle")


def test_the_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("stats.py", "import pytest", "only the pytest layer imports pytest"),
    ("runners/local.py", "from ..plugin import options", "pytest layer -> outputs -> engine"),
    ("event.py", "from .report import data", "pytest layer -> outputs -> engine"),
    ("net.py", "from .stats import RequestStats", "pytest layer -> outputs -> engine"),
    ("verdicts/metrics.py", "from ..runners import base", "pytest layer -> outputs -> engine"),
    ("verdicts/metrics.py", "import pytest", "only the pytest layer imports pytest"),
    ("compare/text.py", "from ..web import views", "the web UI and the comparisons are independent"),
    ("report/format.py", "from . import html", "no import cycles between sibling modules"),
    ("report/comparison_view.py", "from .html import view_model", "no import cycles between sibling modules"),
    ("plugin/run.py", "from . import distributed", "a run's participants above the run, the run above its lifecycle"),
])
def test_a_wrong_import_breaks_its_contract(tmp_path, module, line, broken):
    project = copy_project(tmp_path)
    path = project / "pytest_loadhooks" / module
    path.write_text(path.read_text() + f"\n{line}  # added by the test\n")
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout


# -- the house rules of issue #19 (tests/house_rules.py measures them) --------------------------------------------

def test_no_function_is_over_80_lines():
    from house_rules import long_functions

    assert long_functions() == []


def test_no_module_reaches_into_another_modules_private_names():
    from house_rules import private_reaches

    assert private_reaches() == []


def test_the_private_reach_rule_sees_each_kind_of_reach(tmp_path, monkeypatch):
    import house_rules

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("def _helper():\n    return 1\n")
    (package / "b.py").write_text("from .a import _helper\n\ndef f(runner, item):\n"
                                  "    runner._on_user_error(1)\n    return getattr(item, '_fixtureinfo', None)\n")
    monkeypatch.setattr(house_rules, "PACKAGE", package)
    assert sorted(house_rules.private_reaches()) == [
        "b.py:1 imports a._helper", "b.py:4 reads runner._on_user_error",
        "b.py:5 reads getattr(item, '_fixtureinfo', None)"]
