"""What issue #19's house rules measure, as plain functions (tests/test_architecture.py asserts them).

- ``long_functions``: functions over ``MAX_FUNCTION_LINES`` lines.
- ``private_reaches``: a module that reads another module's ``_private`` name, either imported
  (``from .clients import _os_poll``) or as an attribute (``runner._on_user_error``) that the
  reading module does not define itself. Reaches into pytest live in ``plugin/pytest_compat.py``;
  reaches into other libraries are listed in ``LIBRARY_INTERNALS`` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_loadhooks"
MAX_FUNCTION_LINES = 80
COMPAT_MODULE = "plugin/pytest_compat.py"

# (module, attribute): why no public API serves. Only other libraries' internals belong here.
LIBRARY_INTERNALS: dict[tuple[str, str], str] = {
    ("contrib/fasthttp.py", "_connection_pool"): "geventhttpclient's HTTPClient builds its ConnectionPool "
    "itself and takes no pool class: reaching the pool is the only way to give it a cheaper kept-connection check",
    ("contrib/fasthttp.py", "_is_socket_alive"): "geventhttpclient's ConnectionPool checks a kept connection "
    "with this method before each reuse (gevent's select()); no public hook replaces it (one poll() is cheaper)",
    ("user/ownership.py", "_run"): "gevent keeps a Greenlet's function in _run (its documented override point) "
    "and has no public accessor: naming the greenlets a run ends, and finding a monkey-patched Thread's object",
    ("user/ownership.py", "_invoke_excepthook"): "threading.Thread reports an exception that ends it through "
    "this hook (since Python 3.8) and has no public per-thread switch: a Thread the run kills on purpose is quiet",
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(PACKAGE)), ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(PACKAGE.rglob("*.py"))]


def long_functions() -> list[str]:
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno} {node.name}() is {length} lines")
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_here(tree: ast.Module) -> set[str]:
    """Private names this module defines: functions, classes, assignments, attributes it sets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if _is_private(name)}


def _own_object(value: ast.expr) -> bool:
    """``self._x``, ``cls._x``, ``super()._x``: a class's own (or inherited, protected) names."""
    if isinstance(value, ast.Name):
        return value.id in ("self", "cls", "mcs")
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"


def _getattr_of_private(node: ast.AST, own: set[str]) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2):
        return False
    target, attribute = node.args[0], node.args[1]
    return (isinstance(attribute, ast.Constant) and isinstance(attribute.value, str) and _is_private(attribute.value)
            and attribute.value not in own and not _own_object(target))


def private_reaches() -> list[str]:
    found = []
    for name, tree in _modules():
        if name == COMPAT_MODULE:
            continue
        own = _defined_here(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
            elif (isinstance(node, ast.Attribute) and _is_private(node.attr) and node.attr not in own
                  and not _own_object(node.value) and (name, node.attr) not in LIBRARY_INTERNALS):
                found.append(f"{name}:{node.lineno} reads {ast.unparse(node)}")
            elif _getattr_of_private(node, own):  # getattr(item, "_fixtureinfo", None) hides the same reach
                found.append(f"{name}:{node.lineno} reads {ast.unparse(node)}")
    return found


if __name__ == "__main__":
    for line in long_functions() + private_reaches():
        print(line)
