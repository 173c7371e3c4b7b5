"""A run's status: the one place it is decided (moved here from ``report.data``, which re-exports it)."""

from __future__ import annotations

STATUSES = ("passed", "failed", "stopped", "errored", "interrupted")


def run_status(exit_code: int, thresholds_met: bool, interrupted: bool = False, stopped: bool = False,
               checks_failed: bool = False, aborted: bool = False) -> str:
    """A run's status, one of ``STATUSES``: the one place that decides it.

    The runner's exit code says whether the run errored (2: a listener, a shape or the
    runner itself raised, or the run was aborted by an error); a run ended early from outside
    (Ctrl-C, SIGTERM) is interrupted, and one ended early by a person (the web UI's Stop or End
    run before its run time) is stopped: either way its numbers are partial, whatever they say.
    Locust's exit code 1 (failed requests), unmet thresholds and failed run checks (every
    request failed, a worker lost: ``LoadResult.run_failures``) make it failed; so does an abort
    by a threshold breached for its ``for`` time (``aborted``: the verdict came early, and it is a
    verdict on the target, not an error of the run; its line is one of the run failures).
    Precedence is errored > interrupted > stopped > failed > passed.
    """
    if exit_code not in (0, 1):
        return "errored"
    if interrupted:
        return "interrupted"
    if stopped:
        return "stopped"
    if exit_code == 1 or not thresholds_met or checks_failed or aborted:
        return "failed"
    return "passed"
