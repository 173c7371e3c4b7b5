"""Which participants a run has, and in which order (the moments they join are in ``plugin.lifecycle``).

The order is the one the moments need: the generator-load watch attaches before the report
files, and both before a master gathers its workers; the live view starts once the traffic's
clock does; the web UI is bound after the runner's ticks are set. Moments after the traffic
go in reverse: the live view stops before a master tells its workers the run is over, the
web UI says when the run began before the master judges its lost workers, the baselines are
compared before the report files are written (they hold the comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from . import options as opts
from .lifecycle import Participant, RunParticipant

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun


class ReportFiles(Participant):
    """The run's report files (``--load-html``, ``--load-csv``, ``--load-json``): listening from just before
    the traffic, written once the run is judged (what was written kept in ``run.written_outputs``)."""

    def __init__(self) -> None:
        self.writer: Any = None

    def before_start(self, run: LoadRun, runner: Any) -> str | None:
        if run.outputs.any():
            from ..report import ReportWriter

            outputs = run.outputs
            self.writer = ReportWriter(html=outputs.html, csv_prefix=outputs.csv, json_path=outputs.json)
            self.writer.attach(runner)
        return None

    def outputs(self, run: LoadRun, result: LoadResult, forced: bool) -> None:
        writer = self.writer
        if writer is None:
            return
        if forced:  # a second Ctrl-C asked not to wait for them
            writer.detach()
            return
        environment = result.environment
        run.written_outputs = list(writer.finish(environment, run.run_info(result)) or [])
        if writer.failures:  # a full disk: the run is errored, and the files that were written say so
            result.output_failed(writer.failures)
            run.written_outputs = writer.rewrite(environment, run.run_info(result))


def participants_for(config: pytest.Config, node: Any = None,
                     live_view: Callable[[LoadRun], Any] | None = None) -> list[RunParticipant]:
    """The participants of one run of this session, in their order.

    ``node`` is the session's :class:`~pytest_loadhooks.plugin.distributed.MasterSession` or
    :class:`~pytest_loadhooks.plugin.distributed.WorkerSession` (None: a local session);
    ``live_view`` makes the run's live view (None: no live view, as on a worker). The web UI and
    the baselines are the session's, when it has them (``plugin.web``, ``plugin.baselines``).
    """
    from .baselines import BASELINES_KEY
    from .distributed import WorkerSession
    from .live_verdicts import LiveVerdicts
    from .saturation import SaturationWatch
    from .terminal import LiveDisplay
    from .telemetry import TELEMETRY_KEY
    from .web import WEB_KEY

    serving = isinstance(node, WorkerSession)  # a worker serves its master's runs: the master judges them
    participants: list[RunParticipant] = [
        SaturationWatch(opts.value_of(config, "usage_interval"), judges=not serving), ReportFiles()]
    if node is not None:
        participants.append(node)
    if not serving:  # the thresholds judged each second; before the live view, which shows them
        participants.append(LiveVerdicts(opts.value_of(config, "abort_after")))
    if live_view is not None:
        participants.append(LiveDisplay(live_view))
    from .iterations import TestTeardowns  # the run's functional-test tasks, if it has any

    participants.append(TestTeardowns())
    session_wide = (config.stash.get(WEB_KEY, None), config.stash.get(BASELINES_KEY, None),
                    config.stash.get(TELEMETRY_KEY, None))
    participants += [participant for participant in session_wide if participant is not None]
    return participants
