"""The load run as a pytest item: passes, fails, shows in -v, -k and junit XML like a test."""

from __future__ import annotations

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
    import inspect

    try:
        return inspect.getsourcelines(classes[0])[1] - 1
    except (IndexError, OSError, TypeError):
        return 0
