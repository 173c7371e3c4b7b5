"""The load run as a pytest item: passes, fails, shows in -v, -k and junit XML like a test."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun


class LoadRunFailed(Exception):
    """A run that did not meet its thresholds, or errored."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class LoadRunItem(pytest.Item):
    """The load run of a session or marked module, as a test of its own."""

    def __init__(self, *, run: LoadRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def runtest(self) -> None:
        from ..exception import ConfigurationError

        self.run.verdict_reported = True
        try:
            result = self.run.execute()
        except ConfigurationError as error:
            raise LoadRunFailed([f"load run not started: {error}"]) from None
        self._record_properties(result)
        if not result.passed:
            raise LoadRunFailed(result.failure_lines())

    def _record_properties(self, result: LoadResult) -> None:
        self.user_properties += [
            ("requests", result.num_requests), ("failures", result.num_failures),
            ("fail_ratio", round(result.fail_ratio, 6)), ("rps", round(result.rps, 3)),
            ("p50_ms", result.total.exact_percentile(0.5)),
            ("p95_ms", result.total.exact_percentile(0.95)),
            ("duration_s", round(result.duration, 3)), ("status", result.status),
        ]
        for verdict in result.thresholds:
            self.user_properties.append((f"threshold {verdict.threshold.expression}",
                                         "passed" if verdict.passed else "failed"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, LoadRunFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        users = ", ".join(cls.__name__ for cls in self.run.user_classes)
        return self.path, _first_line(self.run.user_classes), f"load run ({users})"


def _first_line(classes: list[type]) -> int:
    """The 0-based line of the first user class's ``class`` statement, 0 when not found.

    Read from the module's cached lines: ``inspect.getsourcelines`` parses the whole module to find
    a class (several ms of every run's start-up, issue 24)."""
    import inspect
    import linecache

    try:
        cls = classes[0]
        lines = linecache.getlines(inspect.getsourcefile(cls) or "")
    except (IndexError, OSError, TypeError):
        return 0
    statement = re.compile(rf"\s*class\s+{re.escape(cls.__name__)}\b")
    return next((number for number, line in enumerate(lines) if statement.match(line)), 0)
