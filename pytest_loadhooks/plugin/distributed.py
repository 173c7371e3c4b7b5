"""The distributed mode inside pytest: which node this session is, and how its runs are shared.

A session is one of three nodes:

* local (the default): a run's users are greenlets in this process;
* master (``--load-master``, or ``--load-processes=N``, which also starts N local workers):
  each run gets a :class:`~pytest_loadhooks.runners.MasterRunner` that waits for the expected
  workers, splits the users over them and merges what they count; thresholds, ``load_result``,
  the reports and the terminal read those merged numbers;
* worker (``--load-worker``): collects the same test files and serves the master's runs.

How a worker follows the master's runs: both sessions collect the same runs, in the same
order (the order their items run in). The master opens its port for one run at a time (the
same port each time), and when a worker joins it says which run it is and whether it is the
session's last (the ``loadhooks_run`` message). The worker's item for that run served it with
a fresh WorkerRunner until the master said quit; a run of the worker that the master skipped
is skipped on the worker, and once the master said "last" the worker's remaining runs are
skipped too. A run the worker does not have at all is an error of the worker.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import options as opts
from .lifecycle import Participant

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun

logger = logging.getLogger(__name__)

RUN_MESSAGE = "loadhooks_run"
"""Master -> worker, when the worker joins a run: ``{"run_id": ..., "last": bool}``."""
SESSION_OVER_MESSAGE = "loadhooks_session_over"
"""Master -> workers, when the master's session ends early (interrupted): no more runs come."""

WORKER_SKIP_REASON = "results and thresholds live on the master"
LOCAL_WORKER_STOP_TIMEOUT = 10.0  # how long local workers get to end by themselves, then terminate, then kill
ROLE_OPTIONS = ("processes", "master", "worker")
NODE_OPTIONS = ("processes", "master", "expect_workers", "master_bind_host", "master_bind_port", "worker",
                "master_host", "master_port", "allow_worker_loss")
"""Option names put in ``parsed_options`` as Locust has them; each node keeps its own values."""

# What a local worker is not given from the master's command line: the master's own role and
# outputs (a worker writes no report), and what would clash with the master's files.
_WORKER_DROPPED_FLAGS = ("--load-master", "--load-worker")
_WORKER_DROPPED_VALUED = ("--load-processes", "--load-expect-workers", "--load-expect-workers-timeout",
                          "--load-master-bind-host", "--load-master-bind-port", "--load-master-host",
                          "--load-master-port", "--load-secret", "--load-html", "--load-csv", "--load-json",
                          "--junitxml", "--junit-xml", "--basetemp", "--html", "--result-log")
_WORKER_DROPPED_ENV = ("PROCESSES", "MASTER", "EXPECT_WORKERS", "EXPECT_WORKERS_TIMEOUT", "MASTER_BIND_HOST",
                       "MASTER_BIND_PORT", "WORKER", "MASTER_HOST", "MASTER_PORT", "SECRET", "HTML", "CSV", "JSON")


@dataclass
class NodeSettings:
    """The distributed options of a session, resolved and checked."""

    role: str  # "local", "master" or "worker"
    processes: int | None
    expect_workers: int
    expect_workers_timeout: float
    master_bind_host: str
    master_bind_port: int
    master_host: str
    master_port: int
    secret: str | None
    allow_worker_loss: bool = False

    @property
    def parsed_options(self) -> dict[str, Any]:
        """The node's options as ``environment.parsed_options`` carries them (never the secret)."""
        return {"processes": self.processes, "master": self.role == "master", "worker": self.role == "worker",
                "expect_workers": self.expect_workers, "master_bind_host": self.master_bind_host,
                "master_bind_port": self.master_bind_port, "master_host": self.master_host,
                "master_port": self.master_port, "allow_worker_loss": self.allow_worker_loss}


def resolve_node(values: dict[str, Any], config: Any) -> NodeSettings:
    """The session's node from its option values; contradictions are a ValueError (one line).

    The roles (--load-processes, --load-master, --load-worker) given in the most specific
    place win (command line, then environment, then ini file): a ``load_master = true`` in
    the ini file does not stop ``pytest --load-worker`` on a worker machine. Two roles given
    at the same level contradict each other.
    """
    ranks: dict[str, int] = {}
    for key in ROLE_OPTIONS:
        option = next(o for o in opts.OPTIONS if o.key == key)
        sources = opts.raw_sources(config, option)
        if sources and values[key]:
            source = sources[0][0]
            ranks[key] = 0 if source.startswith("--") else 1 if source.startswith(opts.ENV_PREFIX) else 2
    role = "local"
    if ranks:
        best = min(ranks.values())
        chosen = [key for key, rank in ranks.items() if rank == best]
        if "worker" in chosen and len(chosen) > 1:
            other = next(key for key in chosen if key != "worker")
            raise ValueError(f"--load-worker cannot be combined with --load-{other}: a session is a worker, "
                             "or a master (--load-master / --load-processes), not both")
        role = "worker" if chosen == ["worker"] else "master"
        processes = values["processes"] if "processes" in chosen else None
    else:
        processes = None
    expect = values["expect_workers"]
    if processes is not None:
        if "master" in ranks and opts.raw_sources(config, _option("expect_workers")):
            pass  # --load-master --load-processes=2 --load-expect-workers=3: two local, one from elsewhere
        else:
            expect = processes
    secret = values["secret"]
    if processes is not None and secret is None:
        from ..rpc.security import generated_secret  # zmq: only for a session that starts workers

        secret = generated_secret()  # nothing but this session's own workers can join
    return NodeSettings(role=role, processes=processes, expect_workers=expect,
                        expect_workers_timeout=values["expect_workers_timeout"],
                        master_bind_host=values["master_bind_host"], master_bind_port=values["master_bind_port"],
                        master_host=values["master_host"], master_port=values["master_port"], secret=secret,
                        allow_worker_loss=bool(values["allow_worker_loss"]))


def _option(key: str) -> opts.LoadOption:
    return next(o for o in opts.OPTIONS if o.key == key)


def planned_run_ids(items: list[pytest.Item], load: Any) -> list[str]:
    """The session's runs in the order its items will run them (what a worker follows)."""
    from .items import LoadRunItem

    order: list[str] = []
    for item in items:
        run = None
        if isinstance(item, LoadRunItem):
            run = item.run
        elif item.nodeid in load.test_runs or "load_result" in getattr(item, "fixturenames", ()):
            run = load.run_for_item(item)
        if run is not None and run.run_id not in order:
            order.append(run.run_id)
    return order


# --------------------------------------------------------------------------- the master
class MasterSession(Participant):
    """A master's session: one MasterRunner per run, all on one port; local workers when asked.

    It joins each of the session's runs (``plugin.lifecycle``): it creates the run's runner,
    gathers the workers before the traffic, tells them when the run is over, and judges the
    workers the run lost."""

    def __init__(self, settings: NodeSettings, config: pytest.Config) -> None:
        self.settings = settings
        self.config = config
        self.planned: list[str] = []
        # --load-processes alone: loopback and any free port (found by the first run's master, kept
        # for the others); with --load-master too, workers from elsewhere join where it says.
        only_local = settings.processes is not None and "master" not in _roles_given(config)
        self.port = 0 if only_local else settings.master_bind_port
        self.bind_host = "127.0.0.1" if only_local else settings.master_bind_host
        self.local_workers: LocalWorkers | None = None
        self.session_over = False
        self._forget_run: Any = None  # removes the current run's listener that announces it to workers

    def notices(self) -> list[str]:
        """Said once before any traffic: a master reachable from elsewhere without a secret."""
        from ..runners.master import is_loopback

        if self.settings.secret or is_loopback(self.bind_host):
            return []
        return [(f"pytest-loadhooks: WARNING the master listens on {self.bind_host}:{self.port} without a secret: "
                "anyone who reaches that port can join the run and feed it numbers, and the traffic is not "
                "encrypted; give every node the same --load-secret (or LOADHOOKS_SECRET)")]

    # -- the moments of a run (plugin.lifecycle) --
    def create_runner(self, run: LoadRun, environment: Any) -> Any:
        _set_node_options(environment, self.settings)
        runner = environment.create_master_runner(self.bind_host, self.port, self.settings.secret)
        self.port = runner.master_bind_port
        last = bool(self.planned) and run.run_id == self.planned[-1]

        def announce(client_id: str, **_kwargs: Any) -> None:
            runner.send_message(RUN_MESSAGE, {"run_id": run.run_id, "last": last}, client_id=client_id)

        environment.events.worker_connect.add_listener(announce)
        self._forget_run = lambda: environment.events.worker_connect.remove_listener(announce)
        runner.server.refused.listeners.append(self._say_refused)
        if self.settings.processes is not None and self.local_workers is None:
            self.local_workers = LocalWorkers(self.config, self.settings.processes, self.port, self.settings.secret,
                                              allow_loss=self.settings.allow_worker_loss)
            self.local_workers.start()
        return runner

    def before_start(self, run: LoadRun, runner: Any) -> str | None:
        return self.gather_workers(runner)

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        self.after_run(runner, run, ended_early)
        if self._forget_run is not None:
            self._forget_run()
            self._forget_run = None

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        """The run's workers onto its result; the workers it lost fail it (or warn, when accepted)."""
        runner = result.environment.runner
        result.workers = worker_table(runner)
        self.judge_lost_workers(runner, result)

    def gather_workers(self, runner: Any) -> str | None:
        """Wait for the expected workers; the reason the run cannot start, or None."""
        import gevent

        expected = self.settings.expect_workers
        timeout = self.settings.expect_workers_timeout
        deadline = time.monotonic() + timeout
        while runner.worker_count < expected:
            if time.monotonic() >= deadline:
                break
            if self.local_workers is not None and self.local_workers.all_exited():
                return (f"{runner.worker_count} of {expected} workers connected: the local worker processes "
                        f"exited ({self.local_workers.exit_summary()})")
            gevent.sleep(0.05)
        if runner.worker_count >= expected:
            return None
        reason = f"{runner.worker_count} of {expected} workers connected within {timeout:g}s: the run did not start"
        refused = runner.server.refused.by_host
        if refused:
            reason += "; refused (handshake failed: a different --load-secret?): " + ", ".join(
                f"{host} ({count} times)" for host, count in refused.items())
        return reason

    def _say_refused(self, host: str, line: str) -> None:
        """A refused peer in the master's terminal, as it happens (already rate-limited per host)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"pytest-loadhooks: {line}")

    def judge_lost_workers(self, runner: Any, result: LoadResult) -> None:
        """The workers the run lost: a failure of the run, or with --load-allow-worker-loss a warning.
        A worker that came back (what it counted arrived late, not lost) is a warning either way."""
        for loss in getattr(runner, "lost_workers", ()):
            line = loss.describe()
            if loss.came_back_at is not None:
                result.warnings.append(line)
            elif self.settings.allow_worker_loss:
                result.warnings.append(f"{line} (accepted: --load-allow-worker-loss)")
            else:
                result.run_failures.append(line)

    def after_run(self, runner: Any, run: LoadRun, ended_early: bool) -> None:
        """Tell the workers the run is over (and, if the session ends now, that no run follows), close the port."""
        if ended_early:
            self.session_over = True
            try:
                runner.send_message(SESSION_OVER_MESSAGE, {"run_id": run.run_id})
            except Exception as error:  # noqa: BLE001 - the port may be closed already; the workers time out then
                logger.info("could not tell the workers the session is over: %s", error)
        runner.quit()

    def finish(self) -> list[str]:
        """At the session's end: the local workers stopped; lines to show about any that failed."""
        if self.local_workers is None:
            return []
        return self.local_workers.stop()


def _roles_given(config: Any) -> set[str]:
    return {key for key in ROLE_OPTIONS if opts.raw_sources(config, _option(key))}


class LocalWorkers:
    """The worker processes of ``--load-processes``: started once, stopped at the session's end, never left behind."""

    def __init__(self, config: pytest.Config, count: int, port: int, secret: str | None,
                 allow_loss: bool = False) -> None:
        self.config = config
        self.allow_loss = allow_loss  # --load-allow-worker-loss: one killed by a signal does not fail the session
        self.count = count
        self.port = port
        self.secret = secret
        self.processes: list[subprocess.Popen] = []
        self.log_dir = Path(tempfile.mkdtemp(prefix="loadhooks-workers-"))
        self.logs: list[Path] = []
        self.killed: list[int] = []

    def command(self) -> list[str]:
        args = worker_arguments(list(self.config.invocation_params.args))
        return [sys.executable, "-m", "pytest", *args, "--load-worker", "--load-master-host=127.0.0.1",
                f"--load-master-port={self.port}", "-p", "no:cacheprovider"]

    def environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items()
               if not (name.startswith(opts.ENV_PREFIX) and name[len(opts.ENV_PREFIX):] in _WORKER_DROPPED_ENV)}
        if self.secret:
            env[opts.ENV_PREFIX + "SECRET"] = self.secret  # in the environment: never on a command line (ps)
        return env

    def start(self) -> None:
        command = self.command()
        env = self.environment()
        logger.info("starting %d local workers: %s", self.count, " ".join(command))
        for index in range(self.count):
            log = self.log_dir / f"worker-{index}.log"
            self.logs.append(log)
            with open(log, "wb") as output:
                self.processes.append(subprocess.Popen(
                    command, cwd=str(self.config.invocation_params.dir), env=env, stdout=output,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    # A group of their own: Ctrl-C reaches the master only, which ends the run on
                    # every worker in order (their last counts reach it) and then stops them.
                    start_new_session=True))
        import atexit

        atexit.register(self._kill_all)  # even if pytest itself dies before the session's end

    def all_exited(self) -> bool:
        return bool(self.processes) and all(p.poll() is not None for p in self.processes)

    def exit_summary(self) -> str:
        return ", ".join(f"worker {i}: exit {p.poll()}" for i, p in enumerate(self.processes))

    def stop(self) -> list[str]:
        """Let the workers end (the master said quit after the last run), then terminate, then kill."""
        deadline = time.monotonic() + LOCAL_WORKER_STOP_TIMEOUT
        for process in self.processes:
            _wait(process, deadline)
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                self.killed.append(index)
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for process in self.processes:
            if not _wait(process, deadline):
                process.kill()
                process.wait()
        lines = self._failure_lines()
        if not lines:
            for log in self.logs:
                log.unlink(missing_ok=True)
            try:
                self.log_dir.rmdir()
            except OSError:
                pass
        return lines

    def _failure_lines(self) -> list[str]:
        lines: list[str] = []
        for index, (process, log) in enumerate(zip(self.processes, self.logs)):
            if process.returncode == 0 and index not in self.killed:
                continue
            if self.allow_loss and process.returncode < 0 and index not in self.killed:
                continue  # killed from outside (OOM killer, kill -9): a loss the run's verdict already told
            why = "did not end by itself and was stopped" if index in self.killed else f"exited {process.returncode}"
            lines.append(f"local worker {index} {why}; its output ({log}):")
            try:
                text = log.read_text(errors="replace")
            except OSError:
                text = ""
            tail = text.splitlines()[-40:]
            lines += [f"    {line}" for line in tail]
        return lines

    def _kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()


def _wait(process: subprocess.Popen, deadline: float) -> bool:
    """Wait for a process until the deadline, without blocking the gevent hub for long."""
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def worker_arguments(args: list[str]) -> list[str]:
    """The master's command-line arguments a local worker gets: the same test paths and selection,
    without the master's role, outputs and files."""
    kept: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        name = arg.split("=", 1)[0]
        if name in _WORKER_DROPPED_FLAGS:
            continue
        if name in _WORKER_DROPPED_VALUED:
            skip_next = "=" not in arg
            continue
        kept.append(arg)
    return kept


# --------------------------------------------------------------------------- the worker
class WorkerSession(Participant):
    """A worker's session: a WorkerRunner per run, following the master's runs in order.

    It joins each of the session's runs (``plugin.lifecycle``): it skips a run its master went
    past, creates the run's runner, serves the master until it says quit (it drives the run),
    and makes the run's result what this worker counted, judged on nothing but whether the
    worker did its part (the master judges the run)."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.planned: list[str] = []
        self.master_done = False  # the master said its last run is over: skip what is left here
        self.skipped_runs: set[str] = set()  # runs of this session the master went past

    # -- the moments of a run (plugin.lifecycle) --
    def run_starting(self, run: LoadRun) -> None:
        reason = self.skip_reason(run)
        if reason:
            pytest.skip(reason)

    def create_runner(self, run: LoadRun, environment: Any) -> Any:
        _set_node_options(environment, self.settings)
        # Between two runs the master may run other tests: a worker waits for each run's master as
        # long as a master waits for its workers (--load-expect-workers-timeout).
        runner = environment.create_worker_runner(self.settings.master_host, self.settings.master_port,
                                                  self.settings.secret,
                                                  connect_timeout=self.settings.expect_workers_timeout)
        runner.local_options = frozenset(runner.local_options | set(NODE_OPTIONS))

        def on_run(environment: Any, msg: Any, **_kwargs: Any) -> None:
            self._on_announced(runner, run, msg.data or {})

        def on_session_over(environment: Any, msg: Any, **_kwargs: Any) -> None:
            self.master_done = True

        runner.register_message(RUN_MESSAGE, on_run)
        runner.register_message(SESSION_OVER_MESSAGE, on_session_over)
        return runner

    def drive(self, run: LoadRun, runner: Any) -> int | None:
        """Serve the master's run until it says quit (the master decides users and run time)."""
        return runner.run()

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        """A run the master went past while this worker waited is skipped here; otherwise its result is
        what this worker counted and reported."""
        reason = self.skip_reason(run) if run.run_id in self.skipped_runs else None
        if reason:
            pytest.skip(reason)
        runner = result.environment.runner
        result.stats = runner.reported_stats  # environment.stats only holds what was not reported yet
        result.worker_index = runner.worker_index

    # -- following the master --
    def _on_announced(self, runner: Any, run: LoadRun, data: dict[str, Any]) -> None:
        announced = str(data.get("run_id"))
        if data.get("last"):
            self.master_done = True
        if announced == run.run_id:
            return
        later = self.planned[self.planned.index(run.run_id) + 1:] if run.run_id in self.planned else []
        if announced in later:
            # The master skipped this run (deselected there): leave it, serve the next one.
            self.skipped_runs.add(run.run_id)
            self.master_done = False
            logger.info("the master runs %s, not %s: this run is skipped here", announced, run.run_id)
        else:
            runner.runner_errors.append(
                f"the master runs {announced}, which this worker's session does not have next "
                f"(it expected {run.run_id}): start the workers with the same test files and options")
        runner.quit()

    def skip_reason(self, run: LoadRun) -> str | None:
        if run.run_id in self.skipped_runs:
            return "the master did not run it (deselected there?)"
        if self.master_done:
            return "the master's session has no more runs"
        return None


def _set_node_options(environment: Any, settings: NodeSettings) -> None:
    """The node's options in the run's ``parsed_options``, as Locust's ``--master``/``--worker`` put them."""
    for key, value in settings.parsed_options.items():
        setattr(environment.parsed_options, key, value)


def worker_table(runner: Any) -> list[dict[str, Any]] | None:
    """A master's workers as the reports show them (None for other runners)."""
    clients = getattr(runner, "clients", None)
    if clients is None or not hasattr(clients, "missing"):
        return None
    return [{"id": node.id, "index": node.index, "state": node.state, "users": sum(node.assigned.values())}
            for node in sorted(clients.values(), key=lambda n: n.index)]
