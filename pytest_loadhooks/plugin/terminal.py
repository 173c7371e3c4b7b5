"""Terminal output: a live view while a run goes, and the results table in the summary.

On a TTY the live view redraws one status line with a progress bar; elsewhere (CI,
pipes) it prints a plain line every few seconds so logs stay readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..report.redact import mask_url_credentials
from .lifecycle import Participant

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun

BAR_WIDTH = 24


def format_seconds(seconds: float) -> str:
    seconds = max(round(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def status_line(run: LoadRun, elapsed: float, with_bar: bool) -> str:
    """The live view's line: what the run is doing now, URL credentials masked."""
    return mask_url_credentials(_status_figures(run, elapsed, with_bar))


def _status_figures(run: LoadRun, elapsed: float, with_bar: bool) -> str:
    environment = run.environment
    runner = environment.runner
    stats = environment.stats
    total = stats.total
    run_time = run.settings.effective_run_time
    fail_pct = total.fail_ratio * 100
    figures = (f"users {runner.user_count:>4}  rps {total.current_rps:8.1f}  fail {fail_pct:5.1f}%  "
               f"p50 {stats.windowed_percentile(0.5):7.1f}ms  p95 {stats.windowed_percentile(0.95):7.1f}ms")
    if run_time:
        remaining = max(run_time - elapsed, 0.0)
        clock = f"{format_seconds(elapsed)} / {format_seconds(run_time)} (left {format_seconds(remaining)})"
        if with_bar:
            done = min(elapsed / run_time, 1.0) if run_time else 0.0
            filled = int(done * BAR_WIDTH)
            clock = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {clock}"
    else:
        clock = format_seconds(elapsed)
    return f"load {clock}  {figures}{_open_model_figure(stats)}{_workers_figure(runner)}{_thresholds_figure(run)}"


def _thresholds_figure(run: LoadRun) -> str:
    """The thresholds judged so far on the live line: how many pass, and which fail (``verdicts.live``)."""
    judge = run.live_judge
    if judge is None or not judge.states:
        return ""
    failing = [live.threshold.expression for live in judge.states if live.state == "failing"]
    passing = sum(live.state == "passing" for live in judge.states)
    waiting = len(judge.states) - passing - len(failing)
    figure = f"  thresholds {passing}/{len(judge.states)} ok" + (f" ({waiting} waiting)" if waiting else "")
    return figure + (f", failing: {'; '.join(failing)}" if failing else "")


def _open_model_figure(stats: Any) -> str:
    """An open-model run on the live line: iterations started so far, and those dropped."""
    counts = getattr(stats, "open_model", None)
    if counts is None:
        return ""
    return f"  iterations {counts.iterations} (dropped {counts.dropped_iterations})"


def _workers_figure(runner: Any) -> str:
    """A master's workers on the live line: how many run users, and how many went missing."""
    clients = getattr(runner, "clients", None)
    if clients is None or not hasattr(clients, "missing"):
        return ""
    missing = len(clients.missing)
    return f"  workers {runner.worker_count}" + (f" ({missing} missing)" if missing else "")


def workers_line(workers: list[dict[str, Any]]) -> str:
    """The summary's line about a master's workers, naming any that went missing."""
    missing = [w for w in workers if w["state"] == "missing"]
    line = f"  workers: {len(workers) - len(missing)} connected"
    if missing:
        names = ", ".join(f"{w['index']} ({w['id']})" for w in missing)
        line += f", {len(missing)} missing: {names}"
    return line


class LiveView:
    """Prints the run's status while it goes, from a greenlet beside the users."""

    def __init__(self, run: LoadRun, write: Callable[[str], None], tty: bool, interval: float,
                 enabled: bool = True) -> None:
        self.run = run
        self.write = write
        self.tty = tty
        self.interval = 0.5 if tty else interval
        self.enabled = enabled
        self._greenlet = None
        self._started = 0.0
        self._drawn = False
        self._said = 0  # the live thresholds' changes printed so far

    def start(self) -> None:
        import gevent

        self._started = time.monotonic()
        if self.enabled:
            self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        import gevent

        while True:
            gevent.sleep(self.interval)
            self.draw()

    def draw(self) -> None:
        try:
            line = status_line(self.run, time.monotonic() - self._started, self.tty)
        except Exception:  # noqa: BLE001 - the view must never break a run
            return
        # The first line starts on a line of its own: pytest may be mid-line ("test_x.py::load_run ").
        lead = "" if self._drawn else "\n"
        lead += self._threshold_changes()
        if self.tty:
            self.write(lead + "\r" + line + "\x1b[K")
        else:
            self.write(lead + line + "\n")
        self._drawn = True

    def _threshold_changes(self) -> str:
        """The thresholds' changes of state since the last draw, a line each (above the status line on a TTY)."""
        judge = self.run.live_judge
        if judge is None or len(judge.changes) <= self._said:
            return ""
        new, self._said = judge.changes[self._said:], len(judge.changes)
        lines = "".join(mask_url_credentials(change) + "\n" for change in new)
        return ("\r\x1b[K" + lines) if self.tty else lines

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        if self.tty and self._drawn:
            self.write("\r\x1b[K")
        if self.enabled and self._drawn:  # the changes since the last draw (the abort, often) are not lost
            # (A run too short for any draw keeps pytest's line whole: its verdict says what failed.)
            self.write(self._threshold_changes())


class LiveDisplay(Participant):
    """The live view of one run, as a participant (``plugin.lifecycle``): made when the run's clock starts
    (by ``make_view``, which may give None: no terminal), stopped when its users are."""

    def __init__(self, make_view: Callable[[LoadRun], LiveView | None]) -> None:
        self.make_view = make_view
        self.view: LiveView | None = None

    def started(self, run: LoadRun, runner: Any) -> None:
        self.view = self.make_view(run)
        if self.view is not None:
            self.view.start()

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        if self.view is not None:
            self.view.stop()


COLUMNS = ("Type", "Name", "# reqs", "# fails", "fail %", "avg", "min", "max", "p50", "p95", "p99", "rps")


def _row(entry: Any, duration: float, name: str | None = None) -> list[str]:
    rps = entry.rps_over(duration)  # the run's duration: the report's figure (stats.per_second)
    return [
        entry.method or "", name if name is not None else entry.name, str(entry.num_requests),
        str(entry.num_failures), f"{entry.fail_ratio * 100:.1f}", f"{entry.avg_response_time:.1f}",
        f"{entry.min_response_time or 0:.1f}", f"{entry.max_response_time:.1f}",
        f"{entry.exact_percentile(0.5):.1f}", f"{entry.exact_percentile(0.95):.1f}",
        f"{entry.exact_percentile(0.99):.1f}", f"{rps:.1f}",
    ]


def results_table(result: LoadResult, max_rows: int = 50) -> list[str]:
    """The per-endpoint table (times in ms), with the aggregated row last."""
    entries = sorted(result.stats.entries.values(), key=lambda e: -e.num_requests)
    rows = [_row(e, result.duration) for e in entries[:max_rows]]
    hidden = len(entries) - len(rows)
    rows.append(_row(result.total, result.duration, "Aggregated"))
    widths = [max(len(COLUMNS[i]), *(len(r[i]) for r in rows)) for i in range(len(COLUMNS))]
    widths[1] = min(widths[1], 60)

    def fmt(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i == 1 and len(cell) > widths[1]:
                cell = cell[: widths[1] - 1] + "…"
            out.append(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [fmt(list(COLUMNS)), "-" * len(fmt(list(COLUMNS)))]
    lines += [fmt(r) for r in rows[:-1]]
    if hidden > 0:
        lines.append(f"... {hidden} more endpoints (see --load-html / --load-csv)")
    lines.append(fmt(rows[-1]))
    return lines


def summary_lines(result: LoadResult, verbosity: int) -> list[str]:
    """What the terminal summary shows for one run; ``-q`` keeps it to a line per run.

    Request names, failures, user and listener errors can quote a host URL: the password of
    any URL in them is masked, as the reports mask it (``report.redact``).
    """
    return [mask_url_credentials(line) for line in _summary_lines(result, verbosity)]


def _summary_lines(result: LoadResult, verbosity: int) -> list[str]:
    head = (f"{result.run_id}: {result.status.upper()} - {result.num_requests} requests, "
            f"{result.num_failures} failures ({result.fail_ratio * 100:.2f}%), {result.rps:.1f} rps, "
            f"p95 {result.total.exact_percentile(0.95):.1f} ms over {result.duration:.1f}s")
    node_lines = []
    if result.workers is not None:
        node_lines.append(workers_line(result.workers))
    node_lines += open_model_lines(result)
    if result.worker_index is not None:
        node_lines.append(f"  served by this worker (worker {result.worker_index} of the master): "
                          "results and thresholds live on the master")
    verdict_lines = [f"  FAILED {line}" for line in result.run_failures]
    if result.stopped:
        verdict_lines.append(f"  STOPPED {result.stopped}: its results are partial")
    verdict_lines += [f"  WARNING {line}" for line in result.warnings]
    if verbosity < 0:
        lines = [head] + node_lines + verdict_lines
        lines += [f"  FAILED {v.message}" for v in result.thresholds if not v.passed]
        return lines
    lines = [head] + node_lines + verdict_lines + [""] + results_table(result)
    if result.thresholds:
        lines.append("")
        lines += [f"  {'PASS' if v.passed else 'FAIL'} {v.message}" for v in result.thresholds]
    for (event, listener, error), count in result.grouped_listener_errors().items():
        times = f" ({count} times)" if count > 1 else ""
        lines.append(f"  ERROR listener {listener} of event '{event}' raised {error}{times}")
    for error in result.runner_errors:
        lines.append(f"  ERROR runner: {error}")
    if result.failures:
        lines.append("")
        lines.append("  failures (top 5):")
        for record in result.failures[:5]:
            lines.append(f"    {record['occurrences']:>6}x {record['method']} {record['name']}: {record['error']}")
    if result.exceptions:
        lines.append("  user errors (top 3):")
        for record in result.exceptions[:3]:
            lines.append(f"    {record['count']:>6}x {record['msg']}")
    return lines


def open_model_lines(result: LoadResult) -> list[str]:
    """An open-model run's iterations, dropped iterations, start lag and p95 from the intended start."""
    counts = result.stats.open_model
    if counts is None:
        return []
    intended = counts.intended_histogram()
    p95_intended = f"{intended.percentile(intended.total(), 0.95):.1f} ms" if intended.total() else "-"
    from ..report.data import rate_setting

    setting = rate_setting(result.rate_settings)
    asked = f"rate {setting}; " if setting else ""
    return [f"  open model: {asked}{counts.iterations} iterations ({counts.achieved_rate(result.duration):.1f}/s), "
            f"{counts.dropped_iterations} dropped, start lag p99 {counts.start_lag_percentile(0.99):.1f} ms, "
            f"p95 from intended start {p95_intended} (from actual start "
            f"{result.total.exact_percentile(0.95):.1f} ms)"]


def comparison_summary_lines(result: LoadResult, verbosity: int, colour: bool = False) -> list[str]:
    """The run's comparison with its baseline (``--load-compare``), and where ``--load-save`` stored it."""
    lines = [f"  saved as baseline {path}" for path in getattr(result, "saved_baselines", ())]
    comparison = getattr(result, "comparison", None)
    if comparison is None:
        return lines
    if verbosity < 0:
        return [f"  compared with baseline {comparison['baseline']['label']}"] + lines
    from ..compare import comparison_lines

    return [""] + [mask_url_credentials(line) for line in comparison_lines(comparison, colour=colour)] + lines
