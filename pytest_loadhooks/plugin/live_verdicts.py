"""Thresholds judged while the run goes, as a run participant (``plugin.lifecycle``).

From the moment the traffic's clock starts (``started``) to the moment its users are stopped
(``run_ended``), a greenlet judges every threshold of the run once a second on the run's stats
(:class:`~pytest_loadhooks.verdicts.live.LiveJudge`: the engine side, with no pytest). The judge
is kept on the run (``run.live_judge``) for the live terminal line and the web UI's thresholds
card. When a threshold has stayed breached for its ``for`` time (or ``--load-abort-after``), the
run is ended through the runner's one stop path (:meth:`Runner.end_on_verdict`) and failed with
the judge's line. A master judges its workers' merged stats; a worker judges nothing (its master does).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..verdicts.live import LiveJudge
from .lifecycle import Participant

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun

logger = logging.getLogger(__name__)

TICK = 1.0
"""Seconds between two judgements: the issue's "each second"."""


class LiveVerdicts(Participant):
    """The run's thresholds judged each second from ``started`` to ``run_ended`` (see the module's docstring)."""

    def __init__(self, abort_after: float | None = None) -> None:
        self.abort_after = abort_after
        self.live: LiveJudge | None = None
        self._greenlet: Any = None
        self._started = 0.0
        self._run_start: float | None = None

    def started(self, run: LoadRun, runner: Any) -> None:
        if not run.thresholds:
            return
        import gevent

        self.live = run.live_judge = LiveJudge(list(run.thresholds), self.abort_after)
        self._started = time.monotonic()
        self._greenlet = gevent.spawn(self._loop, runner)
        self._greenlet.name = "live-verdicts"

    def _loop(self, runner: Any) -> None:
        import gevent

        ticks = 0
        while True:
            ticks += 1  # on the second marks of the run, not drifting by each tick's own time
            gevent.sleep(max(self._started + ticks * TICK - time.monotonic(), 0.0))
            try:
                self._tick(runner)
            except Exception:  # noqa: BLE001 - judging live must never break the run; its end verdict still comes
                logger.exception("live verdicts: a judgement failed; the thresholds are judged at the run's end")
                return

    def _tick(self, runner: Any) -> None:
        judge = self.live
        assert judge is not None
        arrival = getattr(runner, "arrival", None)
        if arrival is not None and not arrival.warmed.is_set():
            return  # an open-model pool warming up (its on_start): the run's clock starts after it
        elapsed = self._elapsed(runner)
        if elapsed is None:
            return  # a web UI waiting for its form: nothing runs, nothing to judge
        already = judge.aborted
        judge.tick(runner.stats, elapsed)
        if judge.aborted is not None and already is None:
            runner.end_on_verdict(judge.aborted)

    def _elapsed(self, runner: Any) -> float | None:
        """Seconds since the run's latest start: the runner's, so that a run the web UI starts from its
        form (or starts again) is judged from that start, as its end verdict is; None before any start."""
        start = getattr(runner, "start_time", None)
        if start is None:
            return None
        if start != self._run_start:  # a new start: the stats began again, and so do the breaches
            self._run_start = start
            if self.live is not None:
                self.live.restart()
        return max(time.time() - start, 0.0)

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        if self._greenlet is None:
            return
        self._greenlet.kill(block=False)
        self._greenlet = None
        if self.live is not None:
            # The last seconds judged too (a windowed threshold's last window); the run is over: no abort now.
            elapsed = self._elapsed(runner)
            if elapsed is not None:
                self.live.tick(runner.stats, elapsed, may_abort=False)

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        if self.live is not None:
            result.worst_windows = dict(self.live.worst_windows)
