"""Functional tests as load tasks: which tests are chosen, with which weight, and what is refused before traffic.

A test becomes a task when it is marked ``@pytest.mark.load_task(weight=N)`` or matched by
``--load-tests=EXPR`` (pytest's ``-k`` grammar, marker names included). The chosen tests (one task
per parameter set) become the tasks of one User class, :func:`tasks_user_class` (built in
``plugin.iterations``), which joins the session's run beside its other User classes. Nothing here
imports the engine: the User class is built only in a session that does load.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .pytest_compat import compile_selection, fixture_scopes, selection_matches, skip_reason

MARKER = "load_task"
MARKER_HELP = ("load_task(weight=1): use this test as a load task in a load session (its weight among the "
               "chosen tests; --load-tests=EXPR chooses tests by name or marker too)")

UNAVAILABLE_FIXTURES: dict[str, str] = {
    "capsys": "output capture is the process's, not one iteration's",
    "capsysbinary": "output capture is the process's, not one iteration's",
    "capfd": "output capture is the process's, not one iteration's",
    "capfdbinary": "output capture is the process's, not one iteration's",
    "caplog": "log capture is set up by pytest's per-test hooks, which iterations do not run",
    "recwarn": "warnings are recorded process-wide, so concurrent iterations would see each other's",
    "monkeypatch": "patches are process-wide, so concurrent iterations would undo each other's",
    "pytester": "it changes the working directory and sys.path of the whole process",
    "testdir": "it changes the working directory and sys.path of the whole process",
}
"""Fixtures a test cannot use as a load task, and why (``tmp_path`` and the like are fine: one per iteration)."""


@dataclass(frozen=True)
class ChosenTest:
    """A test (one parameter set) chosen as a load task, with its weight."""

    item: pytest.Function
    weight: int


def choose_tests(items: list[pytest.Item], expression_text: str | None) -> tuple[list[ChosenTest], list[str]]:
    """The tests to run as load tasks, and a notice for each chosen test left out because it is skipped.

    Raises ``pytest.UsageError`` (one line) for a bad expression, a bad weight, a fixture unavailable under
    load, or an ``--load-tests`` expression that matches no test.
    """
    expression = None
    if expression_text is not None:
        try:
            expression = compile_selection(expression_text)
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    chosen: list[ChosenTest] = []
    notices: list[str] = []
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        marker = item.get_closest_marker(MARKER)
        if not (selection_matches(expression, item) if expression is not None else marker is not None):
            continue
        reason = skip_reason(item)
        if reason is not None:
            notices.append(f"pytest-loadhooks: {item.nodeid} is skipped ({reason or 'no reason'}): not a load task")
            continue
        check_fixtures(item)
        chosen.append(ChosenTest(item, task_weight(item, marker)))
    if expression_text is not None and not chosen:
        raise pytest.UsageError(f"pytest-loadhooks: --load-tests={expression_text} matches no collected test "
                                "(it uses pytest's -k grammar: names, keywords and marker names)")
    return chosen, notices


def task_weight(item: pytest.Item, marker: pytest.Mark | None) -> int:
    """The weight of the ``load_task`` marker (default 1): a whole number from 1, else a one-line usage error."""
    if marker is None:
        return 1
    unknown = set(marker.kwargs) - {"weight"}
    if marker.args or unknown:
        raise pytest.UsageError(f"pytest-loadhooks: {item.nodeid}: load_task takes one keyword argument, "
                                f"weight=N (got {', '.join(map(repr, marker.args)) or ', '.join(sorted(unknown))})")
    weight = marker.kwargs.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        raise pytest.UsageError(f"pytest-loadhooks: {item.nodeid}: load_task(weight={weight!r}): "
                                "the weight must be a whole number >= 1")
    return weight


def check_fixtures(item: pytest.Item) -> None:
    """Refuse, before any traffic, a test that needs a fixture that cannot work per iteration."""
    for name in fixture_scopes(item):
        if name in UNAVAILABLE_FIXTURES:
            raise pytest.UsageError(f"pytest-loadhooks: {item.nodeid} cannot be a load task: it uses the fixture "
                                    f"'{name}' ({UNAVAILABLE_FIXTURES[name]})")


def tasks_user_class(chosen: list[ChosenTest]) -> type:
    """The User class whose tasks are the chosen tests, weighted (built here so the engine loads only now)."""
    from .iterations import make_user_class

    return make_user_class([(test.item, test.weight) for test in chosen])
