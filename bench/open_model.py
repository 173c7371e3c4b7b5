"""Issue #21's benchmark, the open model: ``python bench/open_model.py``.

1. **Rate held**: our arrival-rate executor at 500 iterations/s for 30 s against nginx (bench/run.py's
   target, pinned to core 0; the generator pinned to core 1), FastHttpUser then HttpUser, one GET per
   iteration: the
   achieved rate (iterations started / 30 s) against the target, dropped iterations, and the start
   lag (how late iterations started: the schedule's jitter) p50/p99/max.
2. **A target that slows mid-run**, side by side with Locust: the example target's ``/slow-after``
   answers at once, then 500 ms late from a third of the run on. Ours at 100 iterations/s (a pool of
   up to 200 users); Locust's closest, 20 users with ``constant_throughput(5)`` (100/s nominal).
   Requests per second before and after the slowdown: ours holds the rate, Locust's falls to what
   20 users can do at 500 ms a request (~40/s).
3. **The highest rate held on one core**: rates stepped up (10 s each) until the achieved rate is
   no longer within 1 % of the target; the last rate held, for HttpUser and FastHttpUser.

Each scenario is a process of its own (bench/scenarios/open_model_scenario.py). Results: a table on
stdout and bench/results/<date>-open-model.json. ``--smoke``: our side only, a second or two a
scenario, against examples/target_app.py, nothing written unless --json (tests/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as shared  # bench/run.py: the Locust venv, nginx, the example target, pinning  # noqa: E402

SCENARIO = shared.SCENARIOS / "open_model_scenario.py"
TOLERANCE = 0.01  # the achieved rate within 1 % of the target
LADDER = (500, 1000, 1500, 2000, 2500, 3000, 4000, 5000)


def scenario(python: str, impl: str, core: str | None, **options: object) -> dict:
    """One scenario process, pinned; its BENCH-RESULT (or {"error": ...})."""
    command = [python, str(SCENARIO), "--impl", impl]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    seconds = float(options["seconds"])  # type: ignore[arg-type]
    return run_scenario(command, core, seconds * 3 + 60)


def run_scenario(command: list[str], core: str | None, timeout: float) -> dict:
    import subprocess

    command = shared.pinned(command, core)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=shared.clean_env())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    return {"error": f"exit {done.returncode}: " + " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])}


def held(result: dict) -> bool:
    return "error" not in result and abs(result["achieved_rate"] - result["rate"]) <= TOLERANCE * result["rate"]


def rate_held(url: str, core: str | None, rate: float, seconds: float, clients: tuple[str, ...]) -> dict:
    """The rate held for ``seconds``, per client (FastHttpUser first: HttpUser costs ~4x the CPU a request)."""
    return {client: scenario(sys.executable, "ours", core, host=url, rate=rate, seconds=seconds, max_users=200,
                             client=client) for client in clients}


def slowing(url: str, core: str | None, locust_python: str | None, rate: float, seconds: float) -> dict:
    """Both tools against /slow-after (slow from a third of the run on): requests per second over time."""
    after = seconds / 3
    results = {}
    for impl, python in (("ours", sys.executable), ("locust", locust_python)):
        if python is None:
            continue
        path = f"/slow-after?key={uuid.uuid4().hex}&after={after:g}&ms=500"
        result = scenario(python, impl, core, host=url, path=path, rate=rate, seconds=seconds, max_users=200,
                          users=20)
        if "error" not in result:
            series = result["requests_per_second"]
            before = series[1:int(after)] or series[:1]  # the first second is a ramp (Locust spawns then)
            after_change = series[int(after) + 2:int(seconds)] or series[-1:]  # past the change's own seconds
            result["rps_before"] = sum(before) / len(before)
            result["rps_after"] = sum(after_change) / len(after_change)
        results[impl] = result
    return results


def ladder(url: str, core: str | None, rates: tuple[float, ...], seconds: float,
           clients: tuple[str, ...] = ("http", "fast")) -> dict:
    """Step the rate up until it is no longer held within 1 %: every step, and the last rate held."""
    out = {}
    for client in clients:
        steps, best = [], None
        for rate in rates:
            result = scenario(sys.executable, "ours", core, host=url, rate=rate, seconds=seconds, max_users=500,
                              client=client)
            steps.append(result)
            if not held(result):
                break
            best = rate
        out[client] = {"highest_held": best, "steps": steps}
    return out


def table(results: dict) -> str:
    lines = []
    for client, a in results["rate_held"].items():
        if "error" in a:
            lines.append(f"1. rate held, {client}: ERROR {a['error']}")
            continue
        lag = a["start_lag_ms"]
        lines.append(f"1. {client:4} {a['rate']:g} it/s for {a['seconds']:g} s: achieved {a['achieved_rate']:.2f} it/s "
                     f"({(a['achieved_rate'] / a['rate'] - 1) * 100:+.2f} %), {a['dropped']} dropped, start lag "
                     f"p50 {lag['0.5']:.2f} ms, p99 {lag['0.99']:.2f} ms, max {lag['1.0']:.1f} ms; "
                     f"{a['requests'] / a['seconds']:.1f} req/s completed, generator CPU {a['cpu_s']:.1f} s")
    for impl, b in results["slowing"].items():
        if "error" in b:
            lines.append(f"2. {impl}: ERROR {b['error']}")
            continue
        lines.append(f"2. {impl:6} nominal {b['rate']:g}/s, target slows to 500 ms: {b['rps_before']:.1f} req/s "
                     f"before, {b['rps_after']:.1f} req/s after" + (
                         f" (p95 {b['p95_ms']:.0f} ms, p95 from intended start {b['p95_intended_ms']:.0f} ms, "
                         f"{b['dropped']} dropped)" if impl == "ours" else ""))
        lines.append(f"   per second: {b['requests_per_second']}")
    for client, c in results["ladder"].items():
        steps = ", ".join(f"{s['rate']:g}: {s['achieved_rate']:.1f}" if "error" not in s else "error"
                          for s in c["steps"])
        lines.append(f"3. highest rate held within 1 % on one core, {client}: {c['highest_held']} it/s  [{steps}]")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="our side only, short, against examples/target_app.py")
    parser.add_argument("--json", help="write the results here (default: bench/results/<date>-open-model.json)")
    args = parser.parse_args()
    core = None if args.smoke else shared.GENERATOR_CORE
    fast_target = shared.TargetApp() if args.smoke else shared.Nginx(shared.TARGET_CORE)
    slow_target = shared.TargetApp()  # /slow-after lives there
    try:
        locust_python = None if args.smoke else shared.ensure_locust_venv(shared.LOCUST_VERSION)
        results = {
            "smoke": args.smoke, "machine": shared.machine(), "target": fast_target.version,
            "rate_held": rate_held(fast_target.url, core, 50 if args.smoke else 500, 2 if args.smoke else 30,
                                   ("http",) if args.smoke else ("fast", "http")),
            "slowing": slowing(slow_target.url, core, locust_python, 20 if args.smoke else 100,
                               3 if args.smoke else 15),
            "ladder": ladder(fast_target.url, core, (50,) if args.smoke else LADDER, 1 if args.smoke else 10,
                             ("http",) if args.smoke else ("http", "fast")),
        }
    finally:
        fast_target.stop()
        slow_target.stop()
    print(table(results), flush=True)
    path = args.json or (None if args.smoke else
                         str(shared.BENCH / "results" / f"{dt.date.today().isoformat()}-open-model.json"))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
