"""Outputs a verdict can trust (issue #18): every output path proven writable before any traffic,
a file that still cannot be written at the end errors the run (the other outputs still written),
and a saturated load generator said out loud in the terminal, the JSON and the HTML report.

Every test runs real pytest sessions (``pytester``, in subprocesses) against the local target.
A full disk is the real ``/dev/full`` (opens fine, every write fails with ENOSPC); an
unwritable place is ``/proc`` (no file can be created there, even by root).
"""

from __future__ import annotations

import json
import os

import pytest
from plugin_helpers import RECORDING_CONFTEST, SHOP_MODULE, load_args, read_events

pytest_plugins = ["pytester"]


def refused(pytester: pytest.Pytester, *args: str) -> str:
    """Run pytest, expect a usage error: its one ERROR line, after checking no traffic was sent."""
    pytester.makeconftest(RECORDING_CONFTEST)
    result = pytester.runpytest_subprocess(*args)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    sent = [event for event in read_events(pytester.path) if event["event"] in ("request", "test_start")]
    assert not sent, sent
    return errors[0]


# -- 1. proven writable at start-up -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value", "path"),
    [
        ("--load-json", "/proc/r.json", "/proc/r.json"),
        ("--load-html", "/proc/report.html", "/proc/report.html"),
        ("--load-csv", "/proc/run", "/proc/run_stats.csv"),
        ("--load-json", "/proc/deeper/r.json", "/proc/deeper/r.json"),
    ],
)
def test_an_output_no_file_can_be_created_at_is_refused_before_traffic(pytester, target, option, value, path):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target, f"{option}={value}"))
    assert line.startswith(f"ERROR: pytest-loadhooks: {option}: cannot write '{path}'"), line


def test_a_baseline_store_no_file_can_be_created_in_is_refused_before_traffic(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target, "--load-save=base", "--load-storage=/proc/store"))
    assert line.startswith("ERROR: pytest-loadhooks: --load-save: cannot store baselines in '/proc/store/"), line


def test_the_proof_leaves_no_file_behind_and_an_existing_file_untouched(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.path.joinpath("old.json").write_text("kept\n")
    # The JSON and HTML paths are proven, then a later option is refused: nothing was written.
    refused(pytester, *load_args(target, "--load-json=old.json", "--load-html=new/deeper/report.html",
                                 "--load-csv=csv/run", "--load-live-interval=0"))
    assert pytester.path.joinpath("old.json").read_text() == "kept\n"
    assert not pytester.path.joinpath("new").exists()
    assert not pytester.path.joinpath("csv").exists()


def test_the_baseline_store_proof_leaves_no_directory_behind(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    refused(pytester, *load_args(target, "--load-save", "--load-storage=store/deeper", "--load-compare=gone.json"))
    assert not pytester.path.joinpath("store").exists()


# -- 1b. a file that still cannot be written at the end ---------------------------------------------------------
def test_a_full_disk_at_the_end_errors_the_run_and_the_other_outputs_are_still_written(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=/dev/full", "--load-html=report.html",
                                                      "--load-csv=out/run", "--junitxml=junit.xml"))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    result.assert_outcomes(failed=1)
    expected = "cannot write the --load-json file /dev/full: No space left on device"
    assert f"ERRORED - {expected}" not in output  # not a second verdict: one line in the run's own
    assert [line for line in result.outlines if expected in line], output
    assert "PASSED" not in output and "ERRORED" in output, output
    page = pytester.path.joinpath("report.html").read_text()
    assert 'data-status="errored"' in page and expected in page
    assert pytester.path.joinpath("out/run_stats.csv").is_file()
    assert pytester.path.joinpath("out/run_stats_history.csv").is_file()
    junit = pytester.path.joinpath("junit.xml").read_text()
    assert expected in junit


def test_a_full_disk_under_the_html_leaves_a_json_that_says_errored(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=result.json", "--load-html=/dev/full"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    document = json.loads(pytester.path.joinpath("result.json").read_text())
    assert document["run"]["status"] == "errored", (document["run"], result.stdout.str())
    assert "cannot write the --load-html file /dev/full: No space left on device" in document["run"]["run_failures"]
    assert document["total"]["num_requests"] > 0  # the numbers are all there


def test_outputs_that_exist_are_proven_by_opening_without_changing_them(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    os.mkfifo(pytester.path / "pipe.json")  # opening a pipe for writing must not hang the session
    line = refused(pytester, *load_args(target, "--load-json=pipe.json"))
    assert "--load-json: cannot write 'pipe.json'" in line, line


# -- 3. a saturated generator, said out loud ----------------------------------------------------------------------
BURNER_MODULE = '''
import hashlib
import time

import gevent
from pytest_loadhooks import User, constant, task

BLOCK = b"x" * (1 << 20)


def burn(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        hashlib.sha256(BLOCK).digest()  # hashing releases the GIL: a thread each fills the cores there are


class Burner(User):
    """Sends nothing: its tasks keep the generator's own CPU full, as a heavy task would."""

    wait_time = constant(0)

    @task
    def busy(self):
        gevent.get_hub().threadpool.apply(burn, (0.2,))  # a real OS thread of the process
        end = time.monotonic() + 0.02
        while time.monotonic() < end:  # and a busy loop in the task itself
            pass
'''

SATURATED = (r"generator CPU at or above (?P<level>\d+)% for (?P<busy>[\d.]+) s of (?P<run>[\d.]+) s "
             r"\((?P<process>[^)]+\)?)\): response times may be the generator's, not the target's")

LOWER_LEVEL_CONFTEST = """
from pytest_loadhooks.runners import Runner

# Locust's level is 90 %: on a machine shared with other jobs a busy process may not get that much
# of a core. The measurement stays real; only the level it is judged against is lower.
Runner.cpu_warning_threshold = 15.0
"""

SAMPLES_CONFTEST = """
import json, os
from pytest_loadhooks import events

@events.usage_monitor.add_listener
def _sample(environment, cpu_usage, **kw):
    if environment.runner.state in ("spawning", "running"):
        with open(os.path.join(os.path.dirname(__file__), "cpu.jsonl"), "a") as handle:
            handle.write(json.dumps(cpu_usage) + "\\n")
"""


def saturation_warnings(pytester) -> list:
    import re

    lines = json.loads(pytester.path.joinpath("out.json").read_text())["run"]["warnings"]
    found = [re.fullmatch(SATURATED, line) for line in lines]
    assert all(found), lines
    return found


def test_a_saturated_local_process_is_a_warning_in_the_terminal_json_and_html(pytester, target):
    pytester.makeconftest(LOWER_LEVEL_CONFTEST)
    pytester.makepyfile(test_burn=BURNER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-usage-interval=0.25", "--load-json=out.json",
                                                      "--load-html=report.html", "--load-spawn-rate=100", users=8,
                                                      run_time="2s"))
    output = result.stdout.str()
    assert result.ret == 0, output  # a warning, not a failure
    result.assert_outcomes(passed=1)
    (found,) = saturation_warnings(pytester)
    assert (found["level"], found["process"]) == ("15", "local process"), found[0]
    assert 0 < float(found["busy"]) <= float(found["run"]) + 0.5, found[0]
    warning = found[0]
    assert f"WARNING {warning}" in output
    assert output.index(f"WARNING {warning}") < output.index("Type  Name")  # under the verdict, above the table
    page = pytester.path.joinpath("report.html").read_text()
    notes = page[page.index('id="run-warnings"'):]
    assert warning.replace("'", "&#39;") in notes[:notes.index("</ul>")]
    assert 'data-status="passed"' in page


def test_at_locusts_level_the_warning_says_what_the_samples_say(pytester, target):
    """At the default 90 %: a warning exactly when a sample of the run reached it (on a machine of one's own,
    this busy process always does; on a shared one it may not)."""
    pytester.makeconftest(SAMPLES_CONFTEST)
    pytester.makepyfile(test_burn=BURNER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-usage-interval=0.25", "--load-json=out.json",
                                                      "--load-spawn-rate=100", users=8, run_time="2s"))
    assert result.ret == 0, result.stdout.str()
    samples = [json.loads(line) for line in pytester.path.joinpath("cpu.jsonl").read_text().splitlines()]
    assert len(samples) >= 2, samples  # sampled every 0.25 s, not every 2 s
    found = saturation_warnings(pytester)
    assert bool(found) == any(sample >= 90 for sample in samples), (samples, [f[0] for f in found])
    assert all(f["level"] == "90" and f["process"] == "local process" for f in found)


def test_a_saturated_worker_is_named_in_the_masters_warnings(pytester, target):
    pytester.makeconftest(LOWER_LEVEL_CONFTEST)  # the workers load the same conftest
    pytester.makepyfile(test_burn=BURNER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-processes=1", "--load-usage-interval=0.25",
                                                      "--load-json=out.json", "--load-spawn-rate=100", users=8,
                                                      run_time="3s"))
    assert result.ret == 0, result.stdout.str()
    workers = [found for found in saturation_warnings(pytester) if found["process"].startswith("worker 0 (")]
    assert workers, [f[0] for f in saturation_warnings(pytester)]
    assert float(workers[0]["busy"]) > 0
    assert "WARNING " + workers[0][0] in result.stdout.str()


def test_a_quiet_generator_gives_no_warning(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-usage-interval=0.25", "--load-json=out.json",
                                                      "--load-html=report.html"))
    assert result.ret == 0, result.stdout.str()
    assert json.loads(pytester.path.joinpath("out.json").read_text())["run"]["warnings"] == []
    assert 'id="run-warnings"' not in pytester.path.joinpath("report.html").read_text()
    assert "WARNING generator CPU" not in result.stdout.str()


def test_failed_checks_and_warnings_are_seen_under_the_status_in_a_real_browser(pytester, target):
    """One real run with both: a file the full disk refused (a failed check) and a saturated generator (a warning)."""
    import subprocess
    import sys
    from pathlib import Path

    from test_report import chromium_available

    if not chromium_available():
        pytest.fail("no chromium: run scripts/setup-dev.sh (installs Debian's chromium) or set CHROMIUM_PATH")
    pytester.makeconftest(LOWER_LEVEL_CONFTEST)
    pytester.makepyfile(test_burn=BURNER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-usage-interval=0.25", "--load-json=/dev/full",
                                                      "--load-html=report.html", "--load-spawn-rate=100", users=8,
                                                      run_time="2s"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    script = Path(__file__).parent / "browser" / "inspect_verdict_notes.py"
    shown = subprocess.run([sys.executable, str(script), str(pytester.path / "report.html")], capture_output=True,
                           text=True, timeout=150, check=False)
    assert shown.returncode == 0, shown.stderr[-4000:]
    found = json.loads(shown.stdout)
    assert found["page_errors"] == [] and found["blocked_requests"] == []
    assert found["status"] == "Errored"
    (failure,) = found["failures"]
    assert failure["text"] == "Failed" + "cannot write the --load-json file /dev/full: No space left on device"
    (warning,) = found["warnings"]
    assert warning["text"].startswith("Warninggenerator CPU at or above 15% for "), warning
    for line in (failure, warning):
        assert line["on_first_screen"] and line["top"] >= found["status_bottom"], (line, found["status_bottom"])
        assert line["color"] != line["background"]
    assert failure["background"] != warning["background"]  # a failure and a warning do not look alike


def test_a_full_disk_under_the_streamed_history_errors_the_run_and_keeps_the_rest(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.path.joinpath("out").mkdir()
    pytester.path.joinpath("out/run_stats_history.csv").symlink_to("/dev/full")  # this one file on a full disk
    result = pytester.runpytest_subprocess(*load_args(target, "--load-csv=out/run", "--load-json=result.json"))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
    expected = "cannot write the --load-csv file out/run_stats_history.csv: No space left on device"
    document = json.loads(pytester.path.joinpath("result.json").read_text())
    assert document["run"]["status"] == "errored" and expected in document["run"]["run_failures"], document["run"]
    assert output.count(expected) >= 2, output  # the item's failure and the summary's verdict line
    for kind in ("stats", "failures", "exceptions"):
        assert pytester.path.joinpath(f"out/run_{kind}.csv").stat().st_size > 0
