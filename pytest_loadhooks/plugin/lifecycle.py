"""The moments of a load run, and the one interface through which its participants join it.

A run (:class:`~pytest_loadhooks.plugin.run.LoadRun`) is what it is: an id, settings, User
classes, thresholds, options, outputs and, once executed, a result. Everything else that
takes part in running it joins as a *participant*: the web UI session (``plugin.web``), the
distributed session of a master or a worker (``plugin.distributed``), the baselines
(``plugin.baselines``), the live view (``plugin.terminal``), the generator-load watch
(``plugin.saturation``) and the report files (``plugin.participants``). A participant
implements some of the moments of :class:`RunParticipant`; :class:`Participant` gives each
the no-op default, so a participant subclasses it and overrides what it takes part in.

This module is the specification, as pytest-xdist's ``newhooks.py`` is for its hooks: it
imports no participant, and :func:`participants_for
<pytest_loadhooks.plugin.participants.participants_for>` says which participants a run has,
in which order. ``LoadRun._execute`` is the one flow (local, web-driven, master, worker) that
calls them, in this order::

    run_starting           before the Environment: a worker skips a run its master went past
    create_runner          the master's or worker's runner (first answer); else a local one
    environment_created    runner tuned (usage interval), web UI bound: before ``init`` fires
    after_init             the web UI answers
    before_start           listeners attached, workers gathered: why the run cannot start (first answer)
    started                the traffic's clock started: the live view shows it
    drive                  who drives the run (first answer): the web UI, a worker; else ``runner.run``
    run_ended              users stopped: the live view ends, a master tells its workers and closes
    judge                  what each knows of the run: stopped from the UI, lost workers, warnings
    outputs                after the thresholds, the result kept: baselines compared and saved, files written

Order: the moments before the traffic ends visit the participants in the order they joined;
``run_ended``, ``judge`` and ``outputs`` visit them in reverse, as teardowns go (the first to
attach to the run is the last to let go of it). A "first answer" moment stops at the first
participant that answers something other than None.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..env import Environment
    from .run import LoadResult, LoadRun


class RunParticipant(Protocol):
    """What takes part in a run besides the run itself. Each method is one moment of the run."""

    def run_starting(self, run: LoadRun) -> None:
        """The run is about to execute, before its Environment is created (unless a fixture created it).
        May skip it (``pytest.skip``)."""

    def create_runner(self, run: LoadRun, environment: Environment) -> Any:
        """The run's runner (and the options it puts in ``environment.parsed_options``); None: not this one's."""

    def environment_created(self, run: LoadRun, environment: Environment) -> None:
        """The Environment and its runner exist, ``init`` has not fired: what ``init`` listeners see is set up."""

    def after_init(self, run: LoadRun, environment: Environment) -> None:
        """``init`` fired."""

    def before_start(self, run: LoadRun, runner: Any) -> str | None:
        """Just before the traffic: why the run cannot start (it is then errored, no traffic sent), or None.
        An exception here ends the run at once (``run_ended`` with ``ended_early``)."""

    def started(self, run: LoadRun, runner: Any) -> None:
        """The run's clock started (its duration is its traffic's)."""

    def drive(self, run: LoadRun, runner: Any) -> int | None:
        """Run the load to its end and return the runner's exit code; None: the runner's own ``run`` drives it."""

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        """The users are stopped (the Environment is closed right after). ``ended_early``: interrupted,
        forced, or the run could not be waited for."""

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        """What this participant knows about how the run went, onto its result, before the thresholds
        are checked (a run stopped from the UI, workers lost, warnings)."""

    def outputs(self, run: LoadRun, result: LoadResult, forced: bool) -> None:
        """The result is judged and kept (``run.result``): what is made of it. ``forced``: a second
        Ctrl-C asked not to wait for anything."""


class Participant:
    """A :class:`RunParticipant` that takes part in no moment: subclass it and override the moments you need."""

    def run_starting(self, run: LoadRun) -> None:
        return None

    def create_runner(self, run: LoadRun, environment: Environment) -> Any:
        return None

    def environment_created(self, run: LoadRun, environment: Environment) -> None:
        return None

    def after_init(self, run: LoadRun, environment: Environment) -> None:
        return None

    def before_start(self, run: LoadRun, runner: Any) -> str | None:
        return None

    def started(self, run: LoadRun, runner: Any) -> None:
        return None

    def drive(self, run: LoadRun, runner: Any) -> int | None:
        return None

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        return None

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        return None

    def outputs(self, run: LoadRun, result: LoadResult, forced: bool) -> None:
        return None


MOMENTS = ("run_starting", "create_runner", "environment_created", "after_init", "before_start", "started", "drive",
           "run_ended", "judge", "outputs")
"""The moments of a run, in the order a run that goes to its end reaches them."""
AFTER_THE_TRAFFIC = frozenset({"run_ended", "judge", "outputs"})
"""The moments that visit the participants in reverse order (see the module's docstring)."""


def _in_order(participants: Iterable[RunParticipant], moment: str) -> list[RunParticipant]:
    ordered = list(participants)
    return ordered[::-1] if moment in AFTER_THE_TRAFFIC else ordered


def notify(participants: Iterable[RunParticipant], moment: str, *args: Any) -> None:
    """Every participant's ``moment``, in the moment's order."""
    for participant in _in_order(participants, moment):
        getattr(participant, moment)(*args)


def first_answer(participants: Iterable[RunParticipant], moment: str, *args: Any) -> Any:
    """The first answer other than None to ``moment`` (later participants are not asked), or None."""
    for participant in _in_order(participants, moment):
        answer = getattr(participant, moment)(*args)
        if answer is not None:
            return answer
    return None
