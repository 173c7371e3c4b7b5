"""A load session's end: the exit status its runs and listeners decide, and the load summary.

``finish_session`` runs in ``pytest_sessionfinish``: local workers stop, a run whose verdict no
item reported fails the session, Locust's ``quitting`` and ``quit`` events fire, and
``environment.process_exit_code`` is honoured. ``write_summary`` runs in ``pytest_terminal_summary``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .load_session import SESSION_KEY, LoadSession

SESSION_NOTES_KEY = pytest.StashKey[list]()
"""Lines the load summary adds about the session's exit status (a deselected verdict, process_exit_code)."""


def finish_session(session: pytest.Session) -> None:
    """The exit status a load session's runs and listeners decide (see the module's docstring)."""
    load = session.config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return
    _stop_local_workers(session, load)
    environments = [run.environment for run in load.all_runs() if run.environment is not None]
    if not environments:
        return
    from ..event import events

    notes = session.config.stash.setdefault(SESSION_NOTES_KEY, [])
    _fail_for_unreported_verdicts(session, load, notes)
    errors_before = len(events.listener_errors)
    events.quitting.fire(environment=environments[-1])
    _honour_process_exit_code(session, environments, notes)
    events.quit.fire(exit_code=int(session.exitstatus))
    load.quit_errors = events.listener_errors[errors_before:]
    if load.quit_errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a listener error never vanishes silently


def _stop_local_workers(session: pytest.Session, load: LoadSession) -> None:
    """``--load-processes``: the local workers end (terminated, then killed, if they do not); one that
    failed fails the session and shows its output."""
    from .distributed import MasterSession

    if not isinstance(load.node, MasterSession):
        return
    lines = load.node.finish()
    if lines:
        session.config.stash.setdefault(SESSION_NOTES_KEY, []).extend(lines)
        if _passing(session.exitstatus):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _passing(status: int) -> bool:
    """An exit status a failure of the plugin's own may replace (nothing failed so far)."""
    return status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)


def _fail_for_unreported_verdicts(session: pytest.Session, load: LoadSession, notes: list[str]) -> None:
    """A run that did not pass fails the session, even when no item of its own said so.

    A test reading ``load_result`` starts the run; with the run's item deselected (``-k``), its
    verdict would otherwise be printed in the summary while the session exits 0.
    """
    for run in load.all_runs():
        if run.result is None or run.verdict_reported or run.result.passed:
            continue
        notes.append(_unreported_verdict_note(session, run.result))
        if _passing(session.exitstatus):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _unreported_verdict_note(session: pytest.Session, result: Any) -> str:
    """Why a run's verdict had no item of its own: the session was interrupted, stopped early, or (the one
    cause left) its item was deselected."""
    interrupted = result.interrupted or session.exitstatus == pytest.ExitCode.INTERRUPTED
    if interrupted:
        planned = f" of {result.planned_run_time:g}s" if result.planned_run_time else ""
        how = f" by {result.interrupted} after {result.duration:.1f}s{planned}" if result.interrupted else ""
        return f"{result.run_id} {result.status.upper()}{how}, and its item did not run: the session was interrupted"
    stopped_early = session.shouldstop or session.shouldfail
    why = f"the session stopped early: {stopped_early}" if stopped_early else "deselected?"
    return f"{result.run_id} {result.status.upper()}, and its item did not run ({why}): the session fails"


def _honour_process_exit_code(session: pytest.Session, environments: list[Any], notes: list[str]) -> None:
    """Locust's idiom: a ``quitting`` listener sets ``environment.process_exit_code`` to fail the process.

    A non-zero code becomes the session's exit status unless the session already failed on its
    own (pytest's code says more then); 0 never hides a failure.
    """
    codes = [env.process_exit_code for env in environments if getattr(env, "process_exit_code", None)]
    if not codes:
        return
    code = int(codes[0])
    if _passing(session.exitstatus):
        session.exitstatus = code
        notes.append(f"environment.process_exit_code = {code} (set by a listener): the session exits {code}")
    else:
        notes.append(f"environment.process_exit_code = {code} (set by a listener); "
                     f"the session exits {int(session.exitstatus)} as its tests say")


def write_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The "load test results" section: listener errors, notes on the exit status, each finished run's summary."""
    load = config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return
    from .terminal import comparison_summary_lines, summary_lines

    finished = [run for run in load.all_runs() if run.result is not None]
    notes = config.stash.get(SESSION_NOTES_KEY, [])
    if not finished and not load.quit_errors and not notes:
        return
    verbosity = config.get_verbosity()
    terminalreporter.section("load test results", sep="=")
    for error in load.quit_errors:
        terminalreporter.write_line(f"ERROR listener {error.listener} of event '{error.event}' raised {error.error}",
                                    red=True)
    for note in notes:
        terminalreporter.write_line(f"pytest-loadhooks: {note}", red=True)
    if verbosity < -1:
        return
    for run in finished:
        for line in summary_lines(run.result, verbosity):
            terminalreporter.write_line(line)
        for line in comparison_summary_lines(run.result, verbosity, colour=terminalreporter.hasmarkup):
            terminalreporter.write_line(line)
        for path in run.written_outputs:
            terminalreporter.write_line(f"  wrote {path}")
