"""Baselines (issue #12): save a run, compare the next one with it, fail the run on a regression.

Every test runs real pytest sessions (pytester, in subprocesses) against the local target
app. One endpoint is slowed down between two runs through an environment variable the test
module reads (CART_MS: the /cart task asks the target's /slow route to wait that long).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from plugin_helpers import load_args

from pytest_loadhooks.report import load_schema

pytest_plugins = ["pytester"]

SHOP = '''
import os
from pytest_loadhooks import HttpUser, task, constant

CART_MS = int(os.environ.get("CART_MS", "0"))
EXTRA = os.environ.get("EXTRA") == "1"


class Shopper(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def page(self):
        self.client.get("/page")

    @task
    def cart(self):
        self.client.get(f"/slow?ms={CART_MS}", name="/cart")

    @task
    def extra(self):
        if EXTRA:
            self.client.get("/page", name="/new")
'''


@pytest.fixture
def shop(pytester):
    pytester.makepyfile(test_shop=SHOP)
    return pytester


def run(pytester, target, *extra, cart_ms=0, extra_endpoint=False, users=2, run_time="1s"):
    env = {"CART_MS": str(cart_ms), "EXTRA": "1" if extra_endpoint else "0"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        return pytester.runpytest_subprocess(*load_args(target, *extra, users=users, run_time=run_time))


def stored(pytester) -> list[Path]:
    return sorted((pytester.path / ".loadhooks").glob("*/*.json"))


def error_lines(result) -> list[str]:
    return [line for line in result.errlines if line.strip()]


def test_save_then_compare_passes(shop, target):
    saved = run(shop, target, "--load-save=base")
    assert saved.ret == 0, saved.stdout.str()
    files = stored(shop)
    assert len(files) == 1 and files[0].name.startswith("0001_base_"), files
    document = json.loads(files[0].read_text())
    jsonschema.validate(document, load_schema())
    assert document["saved"]["options"]["users"] == 2
    assert document["saved"]["user_classes"] == ["test_shop.Shopper"]
    assert document["saved"]["machine"]["cpu_count"] >= 1
    saved.stdout.fnmatch_lines([f"*saved as baseline {files[0]}*"])

    compared = run(shop, target, "--load-compare", "--load-compare-fail=fail_ratio:+1pp",
                   "--load-compare-fail=GET /cart: p95:+500ms", "--load-json=now.json")
    assert compared.ret == 0, compared.stdout.str()
    compared.stdout.fnmatch_lines([
        f"*comparison with baseline {files[0].stem}*",
        "*Type*Name*metric*baseline*now*change*relative*",
        "*GET*/cart*p95*ms*ms*",
        "*Aggregated*rps*",
    ])
    now = json.loads((shop.path / "now.json").read_text())
    jsonschema.validate(now, load_schema())
    rows = {(row["method"], row["name"]): row for row in now["comparison"]["rows"]}
    assert set(rows) == {("GET", "/cart"), ("GET", "/page"), ("", "Aggregated")}
    cart = rows[("GET", "/cart")]["metrics"]
    assert set(cart) == {"requests", "fail_ratio", "p50", "p95", "p99", "rps"}
    assert cart["requests"]["baseline"] > 0 and cart["requests"]["current"] > 0
    assert cart["requests"]["change"] == cart["requests"]["current"] - cart["requests"]["baseline"]
    rules = [t for t in now["thresholds"] if t["expression"].endswith("(vs baseline)")]
    assert [t["passed"] for t in rules] == [True, True], rules
    assert now["comparison"]["warnings"] == []  # same machine, options and user classes
    assert len(stored(shop)) == 1  # comparing saves nothing


def test_a_slowed_endpoint_fails_the_run_naming_endpoint_and_metric(shop, target):
    assert run(shop, target, "--load-autosave").ret == 0
    slowed = run(shop, target, "--load-compare=latest", "--load-compare-fail=p95:+80ms", "--junitxml=junit.xml",
                 "--color=yes", cart_ms=150)
    assert slowed.ret == 1, slowed.stdout.str()
    output = slowed.stdout.str()
    assert "comparison 'p95:+80ms' failed: p95 of GET /cart = " in output
    assert "baseline" in output and "limit +80.0 ms (<= " in output
    assert "p95 of GET /page" not in output  # the endpoint left alone is not blamed
    red = [line for line in slowed.outlines if line.startswith("\x1b[31m") and "/cart" in line and " p95 " in line]
    assert red, "the slower endpoint's p95 is red on a terminal that takes colours"
    failure = ET.parse(shop.path / "junit.xml").getroot().find(".//testcase[@name='load_run']/failure")
    assert failure is not None and "p95 of GET /cart" in failure.get("message", "") + (failure.text or "")


def test_missing_baseline_is_one_usage_error_line(shop, target):
    nothing = run(shop, target, "--load-compare")
    assert nothing.ret == 4
    lines = error_lines(nothing)
    assert len(lines) == 1 and "--load-compare=latest: no stored result" in lines[0], lines
    assert "load test results" not in nothing.stdout.str()  # no run happened

    no_file = run(shop, target, "--load-compare=results/old.json")
    assert no_file.ret == 4
    assert [line for line in error_lines(no_file) if "no such file" in line and "old.json" in line]

    swallowed = run(shop, target, "--load-compare", ".")  # the option took the test path as its value
    assert swallowed.ret == 4
    assert "is a directory, not a saved result (write --load-compare=latest" in error_lines(swallowed)[0]


def test_corrupt_baseline_is_one_usage_error_line(shop, target):
    assert run(shop, target, "--load-save").ret == 0
    [saved] = stored(shop)
    saved.write_text(saved.read_text()[:200])  # cut short: not JSON any more
    corrupt = run(shop, target, "--load-compare")
    assert corrupt.ret == 4
    lines = error_lines(corrupt)
    assert len(lines) == 1 and f"baseline {saved} cannot be read" in lines[0], lines

    (shop.path / "other.json").write_text('{"schema_version": "1.0", "hello": 1}')
    alien = run(shop, target, "--load-compare=other.json")
    assert alien.ret == 4
    assert "is not a pytest-loadhooks result" in error_lines(alien)[0]


@pytest.mark.parametrize("expression", ["p95:10%", "p95 < 10", "speed:+10%", "p95:+1pp", "fail_ratio:+1"])
def test_a_bad_rule_is_a_usage_error(shop, target, expression):
    result = run(shop, target, "--load-compare", f"--load-compare-fail={expression}")
    assert result.ret == 4
    lines = error_lines(result)
    assert len(lines) == 1 and "--load-compare-fail" in lines[0], lines


def test_rules_without_a_baseline_are_a_usage_error(shop, target):
    result = run(shop, target, "--load-compare-fail=p95:+10%")
    assert result.ret == 4
    assert "needs a baseline to compare with" in error_lines(result)[0]


def test_rules_from_the_ini_file_and_environment(shop, target):
    assert run(shop, target, "--load-save").ret == 0
    shop.makeini("[pytest]\nload_compare = latest\nload_compare_fail =\n    GET /cart: p95:+80ms\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOADHOOKS_COMPARE_FAIL", "fail_ratio:+50pp;rps:-99%")
        result = run(shop, target, "--junitxml=junit.xml", cart_ms=150)
    assert result.ret == 1
    output = result.stdout.str()
    assert "comparison 'GET /cart: p95:+80ms' failed" in output
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(shop.path / "junit.xml").getroot().iter("property")}
    assert properties["threshold GET /cart: p95:+80ms (vs baseline)"] == "failed"
    assert properties["threshold fail_ratio:+50pp (vs baseline)"] == "passed"
    assert properties["threshold rps:-99% (vs baseline)"] == "passed"


def test_a_baseline_with_other_options_is_flagged(shop, target):
    assert run(shop, target, "--load-save=two", users=2).ret == 0
    result = run(shop, target, "--load-compare=two", users=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*WARNING the baseline ran with other options (users 2 -> 3*"])


def test_endpoints_on_one_side_only_are_listed(shop, target):
    assert run(shop, target, "--load-save").ret == 0
    result = run(shop, target, "--load-compare", "--load-save", "--load-json=now.json", extra_endpoint=True)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*only in this run: GET /new*"])
    comparison = json.loads((shop.path / "now.json").read_text())["comparison"]
    assert comparison["only_current"] == ["GET /new"] and comparison["only_baseline"] == []
    new = next(row for row in comparison["rows"] if row["name"] == "/new")
    assert new["side"] == "current" and new["metrics"]["requests"]["baseline"] is None

    back = run(shop, target, "--load-compare")  # the latest (saved above) has /new; this run has not
    back.stdout.fnmatch_lines(["*only in the baseline: GET /new*"])


def test_several_baselines_show_their_spread(shop, target):
    for _ in range(3):
        assert run(shop, target, "--load-save=main").ret == 0
    assert [path.name[:7] for path in stored(shop)] == ["0001_ma", "0002_ma", "0003_ma"]
    result = run(shop, target, "--load-compare=main", "--load-json=now.json")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*comparison with baseline 0003_main_*", "*spread of 3 baselines*"])
    comparison = json.loads((shop.path / "now.json").read_text())["comparison"]
    assert comparison["baselines"] == 3
    total = comparison["rows"][-1]["metrics"]["requests"]
    low, high = total["spread"]
    assert low <= high and total["noise"] == (low <= total["current"] <= high and total["change"] != 0)
    if total["noise"]:
        assert "within noise (3 baselines" in result.stdout.str()

    # The same from the command line: the baseline first, older ones after it, the run to judge last.
    newest, middle, oldest = reversed(stored(shop))
    command = subprocess.run([sys.executable, "-m", "pytest_loadhooks.compare", str(newest), str(middle), str(oldest),
                              str(shop.path / "now.json"), "--fail", "Aggregated: p95:+1000%"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert command.returncode == 0, command.stdout + command.stderr
    assert "spread of 3 baselines" in command.stdout
    assert "PASS comparison 'Aggregated: p95:+1000%' passed: p95 within +1000% of the baseline" in command.stdout


def test_compare_command_on_two_saved_files(shop, target):
    assert run(shop, target, "--load-json=before.json").ret == 0
    assert run(shop, target, "--load-json=after.json", cart_ms=150).ret == 0
    before, after = str(shop.path / "before.json"), str(shop.path / "after.json")

    def compare(*args):
        return subprocess.run([sys.executable, "-m", "pytest_loadhooks.compare", *args], capture_output=True,
                              text=True, timeout=60, check=False)

    plain = compare(before, after)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith(f"comparison with baseline {before}")
    assert any(line.split()[:3] == ["GET", "/cart", "p95"] for line in plain.stdout.splitlines())
    assert "\x1b[" not in plain.stdout  # not a terminal: no colours

    judged = compare(before, after, "--fail", "GET /cart: p95:+80ms", "--color=yes")
    assert judged.returncode == 1
    assert "FAIL comparison 'GET /cart: p95:+80ms' failed: p95 of GET /cart" in judged.stdout
    assert "\x1b[31m" in judged.stdout  # the slower endpoint in red

    (shop.path / "broken.json").write_text("{")
    broken = compare(str(shop.path / "broken.json"), after)
    assert broken.returncode == 2 and broken.stderr.startswith("error: cannot read")


def test_comparison_section_in_a_real_browser(shop, target, tmp_path):
    from test_report import chromium_available

    if not chromium_available():
        pytest.fail("no chromium: run scripts/setup-dev.sh (installs Debian's chromium) or set CHROMIUM_PATH")
    # 2 s: each run's charts over time get more than one sample, so lines, not dots.
    assert run(shop, target, "--load-save", users=2, run_time="2s").ret == 0
    result = run(shop, target, "--load-compare", "--load-html=report.html", "--load-json=report.json", users=3,
                 cart_ms=150, extra_endpoint=True, run_time="2s")
    assert result.ret == 0
    script = Path(__file__).parent / "browser" / "inspect_comparison.py"
    shown = subprocess.run([sys.executable, str(script), str(shop.path / "report.html"), "--screenshot",
                            str(tmp_path / "comparison.png")], capture_output=True, text=True, timeout=150, check=False)
    assert shown.returncode == 0, shown.stderr[-4000:]
    findings = json.loads(shown.stdout)
    assert findings["page_errors"] == [] and findings["console_errors"] == [] and findings["blocked_requests"] == []
    assert findings["charts_state"] == "done"
    comparison = findings["comparison"]
    assert comparison["present"] and comparison["visible"] and comparison["nav_link"]
    assert comparison["baseline"].startswith("0001_run_")
    assert comparison["headers"] == ["Type", "Name", "Requests", "Fail %", "Median (ms)", "p95 (ms)", "p99 (ms)",
                                     "Requests/s"]
    rows = {row["cells"][1]["text"].split(" (")[0]: row for row in comparison["rows"]}
    assert set(rows) == {"/cart", "/page", "/new", "Aggregated"}
    p95 = rows["/cart"]["cells"][5]
    assert p95["tone"] == "worse" and "was" in p95["text"] and "+" in p95["text"], p95
    assert "(this run only)" in rows["/new"]["cells"][1]["text"]
    assert "Only in this run\nGET /new" in comparison["one_side"]
    assert any(w.startswith("the baseline ran with other options (users 2 -> 3") for w in comparison["warnings"])
    overlays = {chart["id"]: chart for chart in findings["charts"] if chart["kind"] == "overlay"}
    assert set(overlays) == {"compare-p95", "compare-rps", "compare-percentiles"}
    for chart in overlays.values():
        assert chart["rendered"] and chart["canvas_width"] > 200, chart
        assert chart["series_pixels"].get("baseline", 0) > 20, chart  # the baseline's dashed line is drawn
    assert overlays["compare-percentiles"]["series_pixels"].get("total", 0) > 20
    assert overlays["compare-p95"]["series_pixels"].get("p95", 0) > 20
    assert overlays["compare-rps"]["series_pixels"].get("rps", 0) > 20
    assert [s for s in overlays["compare-p95"]["legend"] if "baseline" in s]
    jsonschema.validate(json.loads((shop.path / "report.json").read_text()), load_schema())
