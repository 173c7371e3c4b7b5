"""One load run as the pytest layer sees it: settings, lazy Environment, execution, result.

A session has one run for its unmarked User classes; each module or test marked
``@pytest.mark.load(...)`` gets an isolated run of its own. This module knows
nothing of pytest's hooks: the plugin builds runs and calls :meth:`LoadRun.execute`.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..verdicts.thresholds import Threshold, Verdict
from . import lifecycle
from .options import RUN_SETTINGS

if TYPE_CHECKING:
    # The plugin builds settings in every session; the engine is imported only when a run starts.
    from ..env import Environment
    from ..stats import RequestStats, StatsEntry, StatsError
    from .interrupts import RunSignals
    from .lifecycle import RunParticipant

MARKER_KEYS: tuple[str, ...] = (*(option.key for option in RUN_SETTINGS), "user_classes", "shape")
"""The ``load`` marker's keyword arguments: every run setting, plus what only a marker can choose."""

SHAPE_IGNORES = ("users", "spawn_rate", "run_time")
"""Settings a LoadTestShape replaces unless it sets ``use_common_options`` (Locust's rule)."""
SHAPE_REPLACES_RATE = ("rate", "rate_stages")
"""Settings a LoadTestShape always replaces: it drives the run (users, or a ``RateTick``'s rate) either way."""

_SETTINGS_BY_KEY = {option.key: option for option in RUN_SETTINGS}


@dataclass
class RunSettings:
    """One run's settings: a field per option in ``RUN_SETTINGS`` (``from_values`` insists), and its shape."""

    users: int
    spawn_rate: float | None
    run_time: float | None
    host: str | None
    tags: list[str] | None
    exclude_tags: list[str] | None
    stop_timeout: float
    rate: float | None = None
    rate_stages: list[tuple[float, float]] | None = None
    max_users: int | None = None
    shape: Any = None
    given: dict[str, str] = field(default_factory=dict)
    """How each explicitly given setting was given (``{"run_time": "--load-run-time=1s"}``), for messages."""

    def __post_init__(self) -> None:
        self.tags = self.tags or None
        self.exclude_tags = self.exclude_tags or None

    @classmethod
    def from_values(cls, values: Mapping[str, Any], given: Mapping[str, str]) -> RunSettings:
        """Settings from resolved option values keyed by setting name (``run_time``)."""
        return cls(**{option.key: values[option.key] for option in RUN_SETTINGS}, given=dict(given))

    @property
    def effective_spawn_rate(self) -> float:
        return self.spawn_rate if self.spawn_rate else float(max(self.users, 1))

    @property
    def shape_decides(self) -> bool:
        """Whether the shape alone sets users, spawn rate and the end of the run (Locust's default for shapes)."""
        return self.shape is not None and not getattr(self.shape, "use_common_options", False)

    @property
    def effective_run_time(self) -> float | None:
        """What bounds the run: the run time, or nothing when the shape decides when it ends (or the
        total of the rate stages, when they are given without a run time)."""
        if self.shape_decides:
            return None
        if self.rate_stages and "run_time" not in self.given:
            return sum(duration for _, duration in self.rate_stages)
        return self.run_time

    @property
    def open_model(self) -> bool:
        """Whether iterations start at a rate (``rate`` or ``rate_stages``) rather than users looping."""
        return self.rate is not None or bool(self.rate_stages)

    def rate_plan(self) -> Any:
        """The open model's plan (:class:`~pytest_loadhooks.runners.arrival.RatePlan`): stages win over a rate."""
        from ..runners.arrival import RatePlan

        if self.rate_stages:
            return RatePlan.staged(self.rate_stages)
        return RatePlan.constant(float(self.rate or 0.0))

    @property
    def effective_max_users(self) -> int:
        from ..runners.arrival import DEFAULT_MAX_USERS

        return self.max_users if self.max_users is not None else DEFAULT_MAX_USERS

    def ignored_by_shape(self) -> list[str]:
        """The explicitly given settings the shape overrides, as they were given."""
        if self.shape is None:
            return []
        keys = (SHAPE_IGNORES if self.shape_decides else ()) + SHAPE_REPLACES_RATE
        return [self.given[key] for key in keys if key in self.given]

    def with_marker(self, kwargs: dict[str, Any]) -> RunSettings:
        """These settings overridden by a ``load`` marker's keyword arguments (validated)."""
        unknown = set(kwargs) - set(MARKER_KEYS)
        if unknown:
            raise ValueError(f"unknown load marker argument(s) {sorted(unknown)}: use {sorted(MARKER_KEYS)}")
        if kwargs.get("rate") is not None and kwargs.get("rate_stages") is not None:
            raise ValueError("the load marker takes rate= or rate_stages=, not both")
        changes: dict[str, Any] = {}
        given = dict(self.given)
        for key, value in kwargs.items():
            option = _SETTINGS_BY_KEY.get(key)
            if option is not None and value is not None:
                changes[key] = option.parse(value) if option.parse else value
                given[key] = f"load({key}={value!r})"
            elif key == "shape":
                changes[key] = value
        return replace(self, **changes, given=given)


class _FromTotal:
    """A figure of the whole run that its aggregated stats entry already answers: read from
    ``result.stats.total`` (a :class:`~pytest_loadhooks.stats.StatsEntry`), never kept twice."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, result: LoadResult | None, owner: type | None = None) -> Any:
        if result is None:
            return self
        return getattr(result.stats.total, self.name)

    def __set__(self, result: LoadResult, value: Any) -> None:
        raise AttributeError(f"LoadResult.{self.name} is read from its stats (result.stats.total), it cannot be set")


class LoadResult:
    """What a finished run measured; what ``load_result`` returns and thresholds are judged on.

    The whole run's figures (``num_requests``, ``num_failures``, ``fail_ratio``) are its aggregated
    stats entry's, read through :attr:`total`; what the stats do not answer as such (the run's
    duration and rps over it, the tables sorted most frequent first, the verdict) is computed here.
    """

    num_requests: int = _FromTotal()  # type: ignore[assignment]
    num_failures: int = _FromTotal()  # type: ignore[assignment]
    fail_ratio: float = _FromTotal()  # type: ignore[assignment]

    def __init__(self, run: LoadRun, environment: Environment, started_at: float, ended_at: float,
                 exit_code: int, interrupted: str | None = None) -> None:
        self.run_id = run.run_id
        self.environment = environment
        self.stats: RequestStats = environment.stats
        self.started_at = started_at
        self.ended_at = ended_at
        self.exit_code = exit_code
        self.thresholds: list[Verdict] = []
        self.listener_errors = list(environment.listener_errors)
        self.runner_errors = list(environment.runner.runner_errors) if environment.runner else []
        self._error_if_users_only_raised(environment)
        self.interrupted = interrupted
        """What ended the run before its end ("SIGINT", "SIGTERM"), or None when nothing did."""
        self.aborted: str | None = getattr(environment.runner, "verdict_abort", None)
        """The line of a threshold breached for its ``for`` time, which ended the run early (it is failed)."""
        self.worst_windows: dict[Threshold, Verdict] = {}
        """Each windowed threshold's verdict on its worst window (``over 10s``), judged while the run went."""
        self.stopped: str | None = None
        """How a person ended the run before its end from the web UI, or None: the run is *stopped*."""
        self.planned_run_time = run.settings.effective_run_time
        self.rate_settings: dict[str, Any] = run.rate_settings()
        """An open-model run's rate, stages and pool ceiling as reports record them; empty for the closed model."""
        self.run_failures: list[str] = ([self.aborted] if self.aborted else []) + self._run_checks(environment)
        """The run's own checks that failed it beside its thresholds (every request failed, a worker lost)."""
        self.warnings: list[str] = []
        """What a reader must know to trust the numbers, without failing the run (a saturated generator)."""
        self.workers: list[dict[str, Any]] | None = None
        """The master's workers (id, index, state, users assigned); None when the run was not distributed."""
        self.worker_index: int | None = None  # on a worker: its index at the master
        self.comparison: dict[str, Any] | None = None
        """The comparison with the run's baseline (``--load-compare``), as the report document holds it."""
        self.saved_baselines: list[Path] = []  # where --load-save stored the result

    @property
    def duration(self) -> float:
        return max(self.ended_at - self.started_at, 0.0)

    @property
    def total(self) -> StatsEntry:
        return self.stats.total

    @property
    def entries(self) -> dict[tuple[str, str], StatsEntry]:
        """Endpoint entries keyed by (method, name)."""
        return {(entry.method, entry.name): entry for entry in self.stats.sorted_entries()}

    def entry(self, name: str | None = None, method: str | None = None) -> StatsEntry | None:
        """The entry of one endpoint; with no method, all methods of that name merged."""
        from ..verdicts.thresholds import select_entry

        return select_entry(self.stats, name, method)

    @property
    def rps(self) -> float:
        return self.num_requests / self.duration if self.duration > 0 else 0.0

    def percentile(self, q: float, name: str | None = None, method: str | None = None) -> float:
        """Response-time percentile in ms; ``q`` as 0.95 or 95."""
        fraction = q / 100 if q > 1 else q
        entry = self.entry(name, method)
        if entry is None:
            raise KeyError(f"no requests named {name!r}" + (f" with method {method}" if method else ""))
        return entry.exact_percentile(fraction)

    @property
    def failures(self) -> list[StatsError]:
        """Failed requests grouped by method, name and error (Locust's failures table), most frequent first."""
        return sorted(self.stats.errors.values(), key=lambda record: -record.occurrences)

    @property
    def exceptions(self) -> list[dict[str, Any]]:
        """Exceptions raised in users (Locust's exceptions table), with tracebacks and counts, most frequent first."""
        return sorted(self.stats.exceptions.values(), key=lambda record: -record["count"])

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Deprecated name of :attr:`exceptions` (it never held request failures: see :attr:`failures`)."""
        warnings.warn("LoadResult.errors is deprecated: use LoadResult.exceptions (exceptions raised in users); "
                      "failed requests are LoadResult.failures", DeprecationWarning, stacklevel=2)
        return self.exceptions

    @property
    def history(self) -> list[dict[str, Any]]:
        """The run's history rows (recent ones as sampled, older ones as min/avg/max summaries)."""
        return list(self.stats.history)

    def grouped_listener_errors(self) -> dict[tuple[str, str, str], int]:
        """Listener failures counted by (event, listener, error)."""
        counts: dict[tuple[str, str, str], int] = {}
        for e in self.listener_errors:
            key = (e.event, e.listener, e.error)
            counts[key] = counts.get(key, 0) + e.count  # one record per group, with its count
        return counts

    @property
    def status(self) -> str:
        """``passed``, ``failed``, ``interrupted`` or ``errored``: decided by
        :func:`~pytest_loadhooks.verdicts.status.run_status`."""
        from ..verdicts.status import run_status

        return run_status(self.exit_code, thresholds_met=all(v.passed for v in self.thresholds),
                          interrupted=self.interrupted is not None, stopped=self.stopped is not None,
                          checks_failed=bool(self.run_failures), aborted=self.aborted is not None)

    @property
    def errored(self) -> bool:
        return self.status == "errored"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def _error_if_users_only_raised(self, environment: Environment) -> None:
        """A run whose users raised and sent nothing did not test the target: it must not pass.

        (A run of users that send nothing and raise nothing, a plain ``User`` doing other work,
        is legitimate. On a worker the stats are emptied by each report to the master: the
        master judges.)"""
        if _serves_a_master(environment.runner) or self.stats.num_requests or not self.stats.exceptions:
            return
        first = max(self.stats.exceptions.values(), key=lambda record: record["count"])
        self.runner_errors.append(f"no request was made, and users raised {first['msg']} "
                                  f"({first['count']} times; see the exceptions)")
        self.exit_code = self.exit_code or 2

    def _run_checks(self, environment: Environment) -> list[str]:
        """Checks every run must pass whatever thresholds it has: a gate that is green when every
        request failed tests nothing. (On a worker the master judges: its stats are emptied by
        each report.)"""
        if _serves_a_master(environment.runner):
            return []
        total = self.stats.total
        if total.num_requests and total.num_failures >= total.num_requests:
            return [f"every request failed: {total.num_failures} of {total.num_requests}"]
        # (A run time of 0 ends the run as it starts: no answer could come back, whatever the target.)
        if not total.num_requests and self.stats.unanswered and self.planned_run_time != 0:
            return [f"no request was answered: {self.stats.unanswered} were still waiting when the run ended"]
        return []

    def output_failed(self, lines: list[str]) -> None:
        """Outputs that could not be written (a full disk): the run is errored, each line says which file."""
        self.run_failures += [line for line in lines if line not in self.run_failures]
        if self.exit_code in (0, 1):
            self.exit_code = 2

    def failure_lines(self) -> list[str]:
        lines = list(self.run_failures)
        if self.stopped:
            lines.append(f"{self.stopped}: its results are partial")
        lines += [v.message for v in self.thresholds if not v.passed]
        lines += [f"listener {listener} of event '{event}' raised {error}" + (f" ({count} times)" if count > 1 else "")
                  for (event, listener, error), count in self.grouped_listener_errors().items()]
        lines += [e if e.startswith("run aborted") else f"runner error: {e}" for e in self.runner_errors]
        if self.interrupted:
            planned = f" of {self.planned_run_time:g}s" if self.planned_run_time else ""
            lines.append(f"run interrupted by {self.interrupted} after {self.duration:.1f}s{planned}: "
                         "its results are partial")
        # A message may quote a host, and a host may carry a password (http://user:secret@...).
        from ..report.redact import mask_url_credentials

        return [mask_url_credentials(line) for line in lines]

    def __repr__(self) -> str:
        return (f"<LoadResult {self.run_id}: {self.num_requests} requests, {self.num_failures} failures, "
                f"{self.rps:.1f} rps, {self.status}>")


@dataclass
class OutputPaths:
    html: str | None = None
    csv: str | None = None
    json: str | None = None

    def any(self) -> bool:
        return bool(self.html or self.csv or self.json)

    def for_run(self, suffix: str | None) -> OutputPaths:
        """Paths for an isolated run: ``report.html`` -> ``report-<suffix>.html`` so runs do not overwrite."""
        if not suffix:
            return self
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", suffix).strip("_.")[:120] or "run"

        def suffixed(path: str | None, keep_extension: bool) -> str | None:
            if not path:
                return None
            p = Path(path)
            if keep_extension and p.suffix:
                return str(p.with_name(f"{p.stem}-{slug}{p.suffix}"))
            return f"{path}-{slug}"

        return OutputPaths(suffixed(self.html, True), suffixed(self.csv, False), suffixed(self.json, True))


@dataclass
class LoadRun:
    """A run's definition and, once executed, its result.

    What takes part in running it besides (the web UI, a master's or worker's session, the
    baselines, the live view, the generator-load watch, the report files) joins it as one of
    its ``participants``, called at each moment of :meth:`_execute` (see ``plugin.lifecycle``).
    """

    run_id: str
    settings: RunSettings
    user_classes: list[type] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    parsed_options: Namespace = field(default_factory=Namespace)
    outputs: OutputPaths = field(default_factory=OutputPaths)
    custom_arguments: list[dict[str, Any]] = field(default_factory=list)
    environment: Environment | None = None
    result: LoadResult | None = None
    error: BaseException | None = None
    explicit_user_classes: bool = False
    written_outputs: list[Path] = field(default_factory=list)
    verdict_reported: bool = False
    """Whether an item reported the verdict (the run's own item, or the test a marked run belongs to)."""
    notices: list[str] = field(default_factory=list)  # said once after collection, before any traffic
    participants: list[RunParticipant] = field(default_factory=list)
    """What joins the run besides itself, in the order ``plugin.participants.participants_for`` gives."""
    live_judge: Any = None
    """The thresholds judged while the run goes (``verdicts.live.LiveJudge``), once its traffic started."""

    def create_environment(self) -> Environment:
        """The run's Environment with its runner, ``init`` fired (once)."""
        if self.environment is None:
            from ..env import Environment

            shape = self.settings.shape
            if isinstance(shape, type):
                shape = shape()
            options = Namespace(**vars(self.parsed_options))
            for key, value in (("num_users", self.settings.users), ("users", self.settings.users),
                               ("spawn_rate", self.settings.effective_spawn_rate),
                               ("run_time", self.settings.run_time), ("host", self.settings.host),
                               ("tags", self.settings.tags), ("exclude_tags", self.settings.exclude_tags),
                               ("stop_timeout", self.settings.stop_timeout), ("rate", self.settings.rate),
                               ("rate_stages", self.settings.rate_stages), ("max_users", self.settings.max_users)):
                setattr(options, key, value)
            environment = Environment(
                user_classes=self.user_classes, shape_class=shape, host=self.settings.host,
                tags=self.settings.tags, exclude_tags=self.settings.exclude_tags,
                stop_timeout=self.settings.stop_timeout, parsed_options=options,
            )
            if lifecycle.first_answer(self.participants, "create_runner", self, environment) is None:
                environment.create_local_runner()
            self.environment = environment
            # environment.web_ui exists before init: its listeners add routes.
            lifecycle.notify(self.participants, "environment_created", self, environment)
            environment.fire_init()
            lifecycle.notify(self.participants, "after_init", self, environment)
        return self.environment

    def execute(self) -> LoadResult:
        """Run the load once; later calls return the same result (or re-raise the same error).

        A run ended early (Ctrl-C, SIGTERM, a timeout) keeps its partial result, and the exception
        that ended it is raised to the first caller only: a later one (the run's own item) gets
        the result, which says why it did not pass.
        """
        if self.result is not None:
            return self.result
        if self.error is not None:
            raise self.error
        try:
            return self._execute()
        except BaseException as error:
            if self.result is None:
                self.error = error
            raise

    def _execute(self) -> LoadResult:
        """The one flow of every run (local, web-driven, master, worker): its participants are called
        at each moment, in the order ``plugin.lifecycle`` describes."""
        from .interrupts import RunSignals

        lifecycle.notify(self.participants, "run_starting", self)  # a worker skips a run its master went past
        environment = self.create_environment()
        runner = environment.runner
        if not _serves_a_master(runner):  # a worker's users are the master's to check
            environment.validate_user_classes()
        signals = RunSignals(runner, self.settings.stop_timeout)
        not_started = self._before_start(runner, environment)
        started_at = time.time()  # after the workers came: the run's duration is its traffic's
        lifecycle.notify(self.participants, "started", self, runner)
        try:
            with signals:
                if not_started is None:
                    exit_code, escaped = self._run_to_its_end(runner, signals)
                else:  # not enough workers: errored, and no traffic sent
                    runner.runner_errors.append(not_started)
                    exit_code, escaped = runner.exit_code, None
        finally:
            # Less the stop's wait for greenlets of its users that would not die: no traffic counted then.
            ended_at = time.time() - getattr(runner, "survivors_waited", 0.0)
            self._end(runner, environment, ended_early=bool(runner.interrupted or signals.interrupted_by
                                                             or signals.forced))
        if self.settings.open_model and runner.start_time is not None:
            started_at = max(started_at, runner.start_time)  # after the pool's warm-up: the run time counts from it
        result = LoadResult(self, environment, started_at, ended_at, exit_code,
                            interrupted=runner.interrupted or signals.interrupted_by)
        result.warnings.extend(runner.run_warnings)  # e.g. a greenlet a user started that outlived its run
        # Judged from the web UI's latest start (after a wait for the form, or a restart), with the
        # workers a master lost: the thresholds read the same numbers.
        lifecycle.notify(self.participants, "judge", self, result)
        result.thresholds = [threshold.check(result) for threshold in self.thresholds]
        self.result = result
        lifecycle.notify(self.participants, "outputs", self, result, signals.forced)
        # What ended the run early is passed on, now that its results are kept: pytest-timeout's
        # failure to the test that started it, Ctrl-C and SIGTERM to pytest (an interrupted session).
        if escaped is not None:
            raise escaped
        if signals.abort_error is not None:
            raise signals.abort_error
        if result.interrupted:
            raise KeyboardInterrupt(f"load run {self.run_id} interrupted by {result.interrupted}")
        return result

    def _before_start(self, runner: Any, environment: Environment) -> str | None:
        """The participants' last moment before the traffic (a master gathers its workers): why the run
        cannot start, or None."""
        try:
            return lifecycle.first_answer(self.participants, "before_start", self, runner)
        except BaseException:  # Ctrl-C while waiting: the workers told, the port closed
            self._end(runner, environment, ended_early=True)
            raise

    def _end(self, runner: Any, environment: Environment, ended_early: bool) -> None:
        """The run is over: its participants let go of it (a master tells its workers), then its Environment."""
        lifecycle.notify(self.participants, "run_ended", self, runner, ended_early)
        environment.close()

    def _run_to_its_end(self, runner: Any, signals: RunSignals) -> tuple[int, BaseException | None]:
        """Run the load; returns its exit code and the exception that ended it early, if one did.

        Whatever happens, no user of this run is left running when this returns.
        """
        from ..runners.base import describe
        from .interrupts import stop_at_once

        try:
            # The web UI's controls drive the run (--load-web-wait) or follow it; a worker serves its master.
            exit_code = lifecycle.first_answer(self.participants, "drive", self, runner)
            if exit_code is not None:
                return exit_code, None
            if self.settings.open_model:
                return runner.run_arrival(self.settings.rate_plan(), self.settings.effective_max_users,
                                          self.settings.effective_run_time,
                                          prewarm=min(self.settings.users, self.settings.effective_max_users)), None
            return runner.run(self.settings.users, self.settings.effective_spawn_rate,
                              self.settings.effective_run_time), None
        except Exception:
            runner.quit()  # the run could not go on (e.g. a setting refused at start): stop what started
            raise
        except BaseException as error:  # noqa: BLE001 - passed on below, once the users are stopped
            if signals.forced:
                stop_at_once(runner)
                return runner.exit_code, error
            # Thrown in from elsewhere (gevent passes a greenlet's KeyboardInterrupt or SystemExit
            # to this one): end the run properly, then pass it on.
            if isinstance(error, KeyboardInterrupt):
                runner.interrupted = runner.interrupted or "KeyboardInterrupt"
            else:
                runner.runner_errors.append(f"run aborted: {describe(error)}")
            try:
                runner.quit()
            except BaseException as again:  # noqa: BLE001 - a second Ctrl-C while the users stop
                stop_at_once(runner)
                signals.forced = True
                return runner.exit_code, again
            return runner.exit_code, error

    def rate_settings(self) -> dict[str, Any]:
        """The open model's settings (rate or stages, pool ceiling) as reports record them; {} without a rate."""
        if not self.settings.open_model:
            return {}
        stages = self.settings.rate_stages
        return {"rate": self.settings.rate, "rate_stages": [list(stage) for stage in stages] if stages else None,
                "max_users": self.settings.effective_max_users}

    def run_info(self, result: LoadResult) -> dict[str, Any]:
        """What reports say about the run beyond its stats."""
        return {
            **self.rate_settings(),
            "name": self.run_id,
            "host": self.settings.host,  # None: the report names the User classes' own hosts
            "started_at": result.started_at,
            "ended_at": result.ended_at,
            "duration": result.duration,
            "users": self.settings.users,
            "spawn_rate": self.settings.effective_spawn_rate,
            "run_time": self.settings.effective_run_time,
            "status": result.status,
            "exit_code": result.exit_code,
            "thresholds": [verdict.to_dict() for verdict in result.thresholds],
            "custom_arguments": [
                {"name": a["name"], "value": a["value"], "is_secret": a["is_secret"]} for a in self.custom_arguments
            ],
            "listener_errors": [vars(e) for e in result.listener_errors],
            "run_failures": list(result.run_failures),
            "stopped": result.stopped,
            "warnings": list(result.warnings),
            "workers": result.workers,
            "comparison": result.comparison,
        }


def _serves_a_master(runner: Any) -> bool:
    """A worker's runner: the master judges the run (its stats are emptied by each report to the master)."""
    worker = sys.modules.get("pytest_loadhooks.runners.worker")  # not loaded: no worker was made
    return worker is not None and isinstance(runner, worker.WorkerRunner)
