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


# -- baselines checked by value (issue #18): one line naming the file and the field ---------------------------
@pytest.fixture(scope="module")
def saved_document(target, tmp_path_factory):
    """A real stored baseline: one short pytest session with --load-save, in a subprocess."""
    import os

    directory = tmp_path_factory.mktemp("saved")
    (directory / "test_shop.py").write_text(SHOP)
    env = {**os.environ, "CART_MS": "0", "EXTRA": "0", "NO_PROXY": "127.0.0.1,localhost"}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "pytest", *load_args(target, "--load-save=base", users=2),
                           "-p", "no:cacheprovider"], cwd=directory, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = sorted((directory / ".loadhooks").glob("*/*.json"))
    return json.loads(path.read_text())


def _set(path, value):
    """A mutation: the field at ``path`` (keys and indexes) set to ``value``; a missing last key deleted."""
    def mutate(document):
        owner = document
        for key in path[:-1]:
            owner = owner[key]
        if value is _DELETE:
            del owner[path[-1]]
        else:
            owner[path[-1]] = value
        return document
    return mutate


_DELETE = object()
NAN = float("nan")

MALFORMED = [
    # (what is wrong, mutation of a real document or a whole replacement, the message after "baseline PATH: ")
    ("a list", lambda d: [], "the file holds a list, not a pytest-loadhooks result (an object with 'stats' and "
                              "'total')"),
    ("a string", lambda d: "results", 'the file holds "results", not a pytest-loadhooks result'),
    ("null", lambda d: None, "the file holds null, not a pytest-loadhooks result"),
    ("no schema version", _set(["schema_version"], _DELETE), "the document has no schema_version, expected \"1.x\""),
    ("another major version", _set(["schema_version"], "2.0"), 'schema_version is "2.0", expected "1.x"'),
    ("a number as version", _set(["schema_version"], 1.2), 'schema_version is 1.2, expected "1.x"'),
    ("no stats", _set(["stats"], _DELETE), "the document is not a pytest-loadhooks result (no 'stats' and 'total')"),
    ("stats an object", _set(["stats"], {}), "the document is not a pytest-loadhooks result"),
    ("an entry a string", _set(["stats", 1], "GET /cart"), 'stats[1] is "GET /cart", expected an object'),
    ("a negative count", _set(["stats", 1, "num_requests"], -5), "stats[1].num_requests is -5, expected a count >= 0"),
    ("a count as text", _set(["stats", 0, "num_requests"], "NaN"),
     'stats[0].num_requests is "NaN", expected a count >= 0'),
    ("a NaN count", _set(["stats", 0, "num_failures"], NAN), "stats[0].num_failures is NaN, expected a count >= 0"),
    ("a fractional count", _set(["total", "num_requests"], 2.5), "total.num_requests is 2.5, expected a count >= 0"),
    ("a boolean count", _set(["total", "num_failures"], True), "total.num_failures is true, expected a count >= 0"),
    ("a missing count", _set(["stats", 0, "num_failures"], _DELETE),
     "stats[0] has no num_failures, expected a count >= 0"),
    ("a ratio above 1", _set(["total", "fail_ratio"], 1.5), "total.fail_ratio is 1.5, expected a ratio from 0 to 1"),
    ("an infinite time", _set(["total", "avg_response_time"], float("inf")),
     "total.avg_response_time is Infinity, expected a response time in ms >= 0"),
    ("a negative time", _set(["stats", 0, "max_response_time"], -1),
     "stats[0].max_response_time is -1, expected a response time in ms >= 0"),
    ("a negative rate", _set(["total", "total_rps"], -3.0), "total.total_rps is -3.0, expected a finite number >= 0"),
    ("a name that is a number", _set(["stats", 0, "name"], 7), "stats[0].name is 7, expected a string"),
    ("a start time as text", _set(["total", "start_time"], "today"),
     'total.start_time is "today", expected a finite number (epoch seconds)'),
    ("percentiles a list", _set(["total", "percentiles"], [1, 2]),
     "total.percentiles is [1, 2], expected an object"),
    ("a percentile key x", _set(["total", "percentiles", "x"], 3.0),
     'total.percentiles has the key "x", expected a percentile label such as "95" or "99.9"'),
    ("a percentile as text", _set(["stats", 0, "percentiles", "95"], "fast"),
     'stats[0].percentiles.95 is "fast", expected a response time in ms >= 0'),
    ("a histogram key x", _set(["total", "response_times", 0, 0], "x"),
     'total.response_times[0][0] is "x", expected a response time in ms >= 0'),
    ("a negative histogram count", _set(["stats", 0, "response_times", 0, 1], -3),
     "stats[0].response_times[0][1] is -3, expected a count >= 0"),
    ("a NaN histogram count", _set(["stats", 0, "response_times", 0, 1], "NaN"),
     'stats[0].response_times[0][1] is "NaN", expected a count >= 0'),
    ("a histogram as an object", _set(["total", "response_times"], {"x": 3}),
     'total.response_times is {"x": 3}, expected a list of [ms, count] pairs'),
    ("a histogram pair cut short", _set(["total", "response_times", 0], [1.0]),
     "total.response_times[0] is [1.0], expected a [ms, count] pair"),
    ("history not a list", _set(["history"], 5), "history is 5, expected a list of rows"),
    ("a history time as text", _set(["history", 0, "time"], "yesterday"),
     'history[0].time is "yesterday", expected a finite number (epoch seconds)'),
    ("a negative history rate", _set(["history", 0, "current_rps"], -1),
     "history[0].current_rps is -1, expected a finite number >= 0"),
    ("a history percentile as text", _set(["history", 0, "response_time_percentile_0.95"], "NaN"),
     'history[0].response_time_percentile_0.95 is "NaN", expected a response time in ms >= 0'),
    ("run a list", _set(["run"], []), "run is [], expected an object"),
    ("negative users", _set(["run", "users"], -2), "run.users is -2, expected a count >= 0"),
    ("an unknown status", _set(["run", "status"], "great"),
     'run.status is "great", expected one of passed, failed, stopped, errored, interrupted'),
    ("a run name that is a number", _set(["run", "name"], 5), "run.name is 5, expected a string"),
    ("saved options as text", _set(["saved", "options"], "x"), 'saved.options is "x", expected an object'),
    ("saved user classes not a list", _set(["saved", "user_classes"], "Shopper"),
     'saved.user_classes is "Shopper", expected a list of strings'),
]


@pytest.mark.parametrize(("what", "mutate", "says"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_baseline_is_one_line_naming_the_file_and_the_field(saved_document, tmp_path, what, mutate,
                                                                          says):
    import copy

    from pytest_loadhooks.plugin.baselines import BaselineError, read_result

    path = tmp_path / "edited.json"
    path.write_text(json.dumps(mutate(copy.deepcopy(saved_document))))  # NaN and Infinity as JSON spells them
    with pytest.raises(BaselineError) as raised:
        read_result(path)
    message = str(raised.value)
    assert message.startswith(f"baseline {path}: {says}"), message
    assert "\n" not in message


def test_the_real_document_itself_is_accepted(saved_document, tmp_path):
    from pytest_loadhooks.plugin.baselines import read_result

    path = tmp_path / "as_saved.json"
    path.write_text(json.dumps(saved_document))
    assert read_result(path) == saved_document


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    yield path


def test_fuzzed_baselines_are_refused_in_one_line_or_compared_without_error(saved_document, tmp_path):
    """Any field of a real document set to a wrong value: either one line naming that field (or its owner),
    or a comparison and its rules that run to the end (the field is one a comparison does not read)."""
    import copy
    import random

    from pytest_loadhooks.compare import compare_documents, judge, parse_rules
    from pytest_loadhooks.plugin.baselines import BaselineError, read_result

    chooser = random.Random(18)
    leaves = [path for path in _leaves(saved_document) if path]
    rules = parse_rules(["p95:+10%", "fail_ratio:+1pp", "rps:-50%", "GET /cart: p99.9:+20%", "avg:+5%"])
    refused = compared = 0
    for attempt in range(300):
        path = chooser.choice(leaves)
        bad = chooser.choice([-1, -0.5, "NaN", NAN, float("inf"), None, [], {}, "x", True, 1e400])
        document = _set(list(path), bad)(copy.deepcopy(saved_document))
        file = tmp_path / f"fuzz{attempt}.json"
        file.write_text(json.dumps(document))
        try:
            checked = read_result(file)
        except BaselineError as error:
            message = str(error)
            assert "\n" not in message and message.startswith(f"baseline {file}: "), message
            named = message.removeprefix(f"baseline {file}: ")
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
            owners = {field[:end] for end in range(1, len(field) + 1)}
            assert named.split(" ")[0] in owners or named.startswith(("the document", "the file", "schema_version")),\
                (path, bad, message)
            refused += 1
            continue
        comparison = compare_documents([checked], saved_document)
        judge(comparison, rules, [checked, saved_document])
        compared += 1
    assert refused > 100 and compared > 10, (refused, compared)


def test_a_malformed_baseline_stops_the_session_before_traffic(shop, target):
    (shop.path / "list.json").write_text("[]")
    listed = run(shop, target, "--load-compare=list.json")
    assert listed.ret == 4
    assert error_lines(listed) == [f"ERROR: pytest-loadhooks: baseline {shop.path / 'list.json'}: the file holds a "
                                   "list, not a pytest-loadhooks result (an object with 'stats' and 'total')"]
    assert "load test results" not in listed.stdout.str()

    assert run(shop, target, "--load-save").ret == 0
    [saved] = stored(shop)
    document = json.loads(saved.read_text())
    document["stats"][0]["num_requests"] = -5
    saved.write_text(json.dumps(document))
    edited = run(shop, target, "--load-compare")
    assert edited.ret == 4
    assert error_lines(edited) == [f"ERROR: pytest-loadhooks: baseline {saved}: stats[0].num_requests is -5, "
                                   "expected a count >= 0"]


def test_the_compare_command_names_the_field_too(saved_document, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(saved_document))
    document = json.loads(json.dumps(saved_document))
    document["total"]["response_times"][0][0] = "x"
    bad.write_text(json.dumps(document))
    done = subprocess.run([sys.executable, "-m", "pytest_loadhooks.compare", str(bad), str(good)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: cannot read {bad}: total.response_times[0][0] is \"x\", expected a "
                                   "response time in ms >= 0")
