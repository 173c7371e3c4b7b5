"""Side-by-side benchmark of pytest-loadhooks against Locust: ``python bench/run.py``.

One command, back to back, several repeats of each scenario for both tools:

1. HttpUser, 50 users, constant(0): req/s of a generator pinned to one core;
2. FastHttpUser, the same;
3. idle HttpUsers (between(1, 2)) at 1,000 and 10,000: peak RSS per user;
4. the per-request hot path: ``events.request.fire`` with the built-in stats listener,
   and ``EventHook.fire`` with 0 / 1 / 10 no-op listeners (ns per call);
5. tool overhead: wall time of a 1 s run minus 1 s (``pytest ... --load-run-time=1s``
   against ``locust --headless -t 1s``), each tool from a venv holding it alone
   (bench/.venv-ours: this checkout, installed as a user installs it; ``--overhead-here``
   runs ours from the current environment instead).

Locust lives in its own venv (bench/.venv-locust, made on first use; never a dependency
of the project). The target is Debian's nginx with one worker and a small static body,
pinned to core 0; every generator process is pinned to core 1. req/s is counted the same
way on both sides: requests completed after all users spawned, divided by that window.
Each process is bounded in time.

Results: a table on stdout, bench/results/<date>.json, and the table in bench/README.md.

``python bench/run.py --smoke`` runs only our side, about a second per scenario, against
examples/target_app.py: no Locust, no nginx, no pinning, nothing written unless --json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "worker.py"
SCENARIOS = BENCH / "scenarios"
VENV = BENCH / ".venv-locust"
OURS_VENV = BENCH / ".venv-ours"  # the overhead scenario's: pytest-loadhooks and its dependencies, nothing else
LOCUST_VERSION = "2.47.0"  # the version the reference numbers were taken with
TARGET_CORE, GENERATOR_CORE = "0", "1"
STATIC_BODY = b"<html><body>hello from nginx: a small static body.</body></html>\n"
README_START, README_END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"

# (key, label, unit, better, target ratio ours/Locust or None, how the target reads)
METRICS = [
    ("http_rps", "HttpUser, 50 users, constant(0)", "req/s", "higher", 1.3, ">= 1.3x Locust"),
    ("fast_rps", "FastHttpUser, 50 users, constant(0)", "req/s", "higher", 2.0, ">= 2x Locust"),
    ("http_rps_cpu", "HttpUser, per generator CPU-second", "req/CPU-s", "higher", 1.3, ">= 1.3x Locust"),
    ("fast_rps_cpu", "FastHttpUser, per generator CPU-second", "req/CPU-s", "higher", 2.0, ">= 2x Locust"),
    ("idle_1000_kib", "idle HttpUser x 1,000: peak RSS per user", "KiB", "lower", 1.0, "<= Locust"),
    ("idle_10000_kib", "idle HttpUser x 10,000: peak RSS per user", "KiB", "lower", 1.0, "<= Locust"),
    ("request_fire_ns", "events.request.fire + stats listener", "ns/call", "lower", 0.5, "<= 50% of Locust"),
    ("fire_0_ns", "EventHook.fire, 0 listeners", "ns/call", "lower", None, ""),
    ("fire_1_ns", "EventHook.fire, 1 no-op listener", "ns/call", "lower", None, ""),
    ("fire_10_ns", "EventHook.fire, 10 no-op listeners", "ns/call", "lower", None, ""),
    ("overhead_s", "tool overhead: wall time of a 1 s run - 1 s", "s", "lower", 1.0, "<= 1.0x Locust"),
    ("overhead_cpu_s", "tool overhead: CPU time of the whole 1 s run", "CPU-s", "lower", 1.0, "<= 1.0x Locust"),
    ("overhead_net_s", "tool overhead: wall time - the run's own measured length", "s", "lower", 1.0,
     "<= 1.0x Locust"),
    ("run_length_s", "length of the \"1 s\" run, as the tool itself measured it", "s", "lower", None, ""),
]


# -- processes -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def pinned(command: list[str], core: str | None) -> list[str]:
    if core is None or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", core, *command]


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    # Bytecode caches on, as on a user's machine: without them pytest re-rewrites the asserts of
    # every plugin module on each start, which would measure this machine's setting, not the tools.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "PYTEST_ADDOPTS",
                 "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def run_worker(python: str, impl: str, args: list[str], core: str | None, timeout: float) -> dict:
    command = pinned([python, str(WORKER), "--impl", impl, *args], core)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=clean_env())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s: {' '.join(command)}"}
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


class Nginx:
    """Debian's nginx: one worker, access log off, a small static file, its own config in a temp dir."""

    def __init__(self, core: str | None) -> None:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            raise SystemExit("nginx is not installed: apt-get install -y nginx-light (or run with --smoke)")
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        (self.dir / "www").mkdir()
        (self.dir / "tmp").mkdir()
        (self.dir / "www" / "index.html").write_bytes(STATIC_BODY)
        self.port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
{user}
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/tmp;
    proxy_temp_path {self.dir}/tmp;
    fastcgi_temp_path {self.dir}/tmp;
    uwsgi_temp_path {self.dir}/tmp;
    scgi_temp_path {self.dir}/tmp;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    default_type text/html;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        root {self.dir}/www;
        location / {{ index index.html; }}
    }}
}}
""")
        self.process = subprocess.Popen(
            pinned([binary, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir)], core),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            raise SystemExit(f"nginx did not start: {(self.dir / 'error.log').read_text()[-500:]}")
        self.url = f"http://127.0.0.1:{self.port}"
        self.version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class TargetApp:
    """examples/target_app.py, the smoke mode's target (no nginx needed)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "target_app.py"), "--port", str(self.port), "--max-seconds", "300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.version = "examples/target_app.py"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def ensure_locust_venv(version: str) -> str:
    """bench/.venv-locust with Locust installed; returns its python."""
    python = VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('locust'))"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return str(python)
    print(f"installing locust=={version} into {VENV.relative_to(ROOT)} (once) ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"locust=={version}"], check=True)
    return str(python)


def ensure_ours_venv() -> str:
    """bench/.venv-ours: this checkout installed as a user installs it (not editable, no test extras); its python.

    The overhead scenario starts a whole pytest, which loads every plugin installed beside it and
    reads the metadata of every installed package for entry points. Measured from the development
    venv (several hundred packages, the test extras' pytest plugins, setuptools' editable-install
    finder imported at every start) it would time that venv, not the tool; Locust's side has its own
    venv with Locust alone. The package is reinstalled on each bench run so it is this checkout's code.
    """
    python = OURS_VENV / "bin" / "python"
    try:
        if not python.exists():
            print(f"making {OURS_VENV.relative_to(ROOT)} (once) ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(OURS_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "setuptools>=77", str(ROOT)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                        "--no-build-isolation", str(ROOT)], check=True, env=clean_env())  # with bytecode, as pip does
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"warning: could not install this checkout into {OURS_VENV.relative_to(ROOT)} ({error}); "
              "the overhead scenario runs ours from the current environment", flush=True)
        return sys.executable
    return str(python)


# -- scenarios -----------------------------------------------------------------------------------

def children_cpu_seconds() -> float:
    """User + system CPU of every child process waited for so far (the runs here are waited for one by one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], cwd: Path, timeout: float) -> tuple[float | None, str]:
    """The wall time of a command; its CPU time goes to ``timed_run.cpu_s`` (the wall time moves with
    whatever else shares the cores, the CPU time much less)."""
    timed_run.cpu_s = None
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=clean_env())
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f}s"
    wall = time.perf_counter() - started
    timed_run.cpu_s = children_cpu_seconds() - cpu_before
    timed_run.output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-6:]
        return None, f"exit {done.returncode}: " + " | ".join(tail)
    return wall, ""


def overhead_ours(python: str, url: str, core: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pytest-") as tmp:
        directory = Path(tmp)
        shutil.copy(SCENARIOS / "overhead_loadtest.py", directory / "overhead_loadtest.py")
        (directory / "pytest.ini").write_text("[pytest]\n")  # an empty project of the user's own
        command = pinned([python, "-m", "pytest", "overhead_loadtest.py", "-q",
                          "--load-users=10", "--load-spawn-rate=10", "--load-run-time=1s", f"--load-host={url}"], core)
        wall, error = timed_run(command, directory, 60)
    if wall is None:
        return {"error": error}
    # The run's own length, as its result line says it (LoadResult.duration, to 0.1 s): "... over 1.0s"
    found = re.search(r" over (\d+(?:\.\d+)?)s", timed_run.output)
    return overhead_figures(wall, float(found.group(1)) if found else None)


def overhead_figures(wall: float, run_length: float | None) -> dict:
    figures = {"overhead_s": wall - 1.0, "wall_s": wall, "overhead_cpu_s": timed_run.cpu_s}
    if run_length is not None:
        figures.update(overhead_net_s=wall - run_length, run_length_s=run_length)
    return figures


LOCUST_LOG_TIME = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\][^\n]*"


def locust_run_length(output: str) -> float | None:
    """From Locust's own log: "Run time limit set" to "--run-time limit reached".

    Locust arms its ``-t`` timer with gevent's ``spawn_later``, measured from the event loop's cached
    clock, which is stale when the loop has not run since start-up: on this machine its "1 s" run
    lasts about a quarter of a second, so "wall - 1 s" leaves most of its start-up uncounted."""
    started = re.search(LOCUST_LOG_TIME + "Run time limit set", output)
    ended = re.search(LOCUST_LOG_TIME + "run-time limit reached", output)
    if not (started and ended):
        return None
    stamp = "%Y-%m-%d %H:%M:%S,%f"
    return (dt.datetime.strptime(ended.group(1), stamp) - dt.datetime.strptime(started.group(1), stamp)).total_seconds()


def overhead_locust(python: str, url: str, core: str | None) -> dict:
    locust = str(Path(python).parent / "locust")
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        directory = Path(tmp)
        shutil.copy(SCENARIOS / "overhead_locustfile.py", directory / "locustfile.py")
        command = pinned([locust, "-f", "locustfile.py", "--headless", "-t", "1s", "-u", "10", "-r", "10",
                          "-H", url], core)
        wall, error = timed_run(command, directory, 60)
    if wall is None:
        return {"error": error}
    return overhead_figures(wall, locust_run_length(timed_run.output))


def plan(args: argparse.Namespace) -> list[tuple[str, list[str], float, dict[str, str]]]:
    """(scenario name, worker arguments, timeout, {result field: metric key}) for each worker scenario."""
    if args.smoke:
        window, users, idle_counts, calls = "1", "10", [1000], "20000"
    else:
        window, users, idle_counts, calls = str(args.window), "50", [1000, 10000], str(args.calls)
    steps = []
    if "rps" in args.only:
        for kind, key in (("http", "http_rps"), ("fast", "fast_rps")):
            steps.append((f"{kind}-rps", ["rps", "--kind", kind, "--host", "{url}", "--users", users,
                                         "--spawn-rate", users, "--window", window],
                          float(window) + 40, {"rps": key, "rps_per_cpu": f"{key}_cpu"}))
    if "idle" in args.only:
        for count in idle_counts:
            key = f"idle_{count}_kib"
            steps.append((f"idle-{count}", ["idle", "--host", "{url}", "--users", str(count),
                                            "--spawn-rate", str(max(count, 1000)),
                                            "--hold", "0.5" if args.smoke else "2.5"],
                          90, {"rss_per_user_kib": key}))
    if "hotpath" in args.only:
        steps.append(("hotpath", ["hotpath", "--calls", calls], 120, {
            "request_fire_stats_ns": "request_fire_ns", "eventhook_fire_0_ns": "fire_0_ns",
            "eventhook_fire_1_ns": "fire_1_ns", "eventhook_fire_10_ns": "fire_10_ns"}))
    return steps


def summarize(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("s", "CPU-s"):
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def cell(summary: dict | None, unit: str) -> str:
    if summary is None:
        return "n/a"
    return f"{fmt(summary['median'], unit)} ({fmt(summary['min'], unit)}–{fmt(summary['max'], unit)})"


def verdict(key: str, ours: dict | None, locust: dict | None) -> tuple[float | None, str]:
    """The ratio ours/Locust of the medians and whether the issue's target is met."""
    metric = next(m for m in METRICS if m[0] == key)
    _, _, _, better, target, _ = metric
    ratio = ours["median"] / locust["median"] if ours and locust and locust["median"] else None
    if target is None or ratio is None:
        return ratio, "-"
    met = ratio >= target if better == "higher" else ratio <= target
    return ratio, "yes" if met else "no"


def table(results: dict, smoke: bool) -> str:
    lines = []
    if smoke:
        lines.append("| scenario | unit | pytest-loadhooks median (min–max) |")
        lines.append("| --- | --- | --- |")
    else:
        lines.append("| scenario | unit | Locust median (min–max) | pytest-loadhooks median (min–max) "
                     "| ours/Locust | target | met |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for key, label, unit, _better, _target, target_text in METRICS:
        entry = results["metrics"].get(key)
        if entry is None:
            continue
        if smoke:
            lines.append(f"| {label} | {unit} | {cell(entry.get('ours'), unit)} |")
            continue
        ratio, met = verdict(key, entry.get("ours"), entry.get("locust"))
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        lines.append(f"| {label} | {unit} | {cell(entry.get('locust'), unit)} | {cell(entry.get('ours'), unit)} "
                     f"| {ratio_text} | {target_text} | {met} |")
    return "\n".join(lines)


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    os_name = platform.platform()
    try:
        pretty = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
        os_name = pretty.group(1) if pretty else os_name
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory": memory, "os": os_name,
            "python": platform.python_version()}


def wrk_ceiling(url: str, core: str | None, seconds: float) -> dict:
    """Debian's ``wrk`` (C, one thread, 50 connections) against the same nginx from the generator's
    core: how many req/s that core can drive at all, the ceiling both tools are measured under."""
    binary = shutil.which("wrk")
    if binary is None:
        return {"error": "wrk is not installed (apt-get install -y wrk)"}
    command = pinned([binary, "-t1", "-c50", f"-d{max(round(seconds), 1)}s", url], core)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    found = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    if done.returncode != 0 or found is None:
        return {"error": f"wrk failed: {(done.stdout + done.stderr).strip()[-300:]}"}
    return {"wrk_rps": float(found.group(1))}


def wrk_line(results: dict) -> str:
    if not results.get("wrk_rps"):
        return ""
    return (f"\nThe ceiling: `wrk -t1 -c50` against the same nginx from the generator's core, "
            f"{fmt(statistics.median(results['wrk_rps']), 'req/s')} req/s (median of {len(results['wrk_rps'])}).\n")


def write_readme(results: dict, markdown: str) -> None:
    readme = BENCH / "README.md"
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{README_START}\n{README_END}\n"
    m = results["machine"]
    block = (f"{README_START}\n"
             f"Measured {results['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, "
             f"Python {m['python']}; Locust {results.get('locust_version', '-')}, pytest-loadhooks "
             f"{results.get('ours_version', '-')}, target {results.get('target', '-')}; "
             f"{results['repeats']} repeats, {results['window_s']:g} s windows, 1-min load average "
             f"{results['load_average_start']:.1f} at the start and {results['load_average_end']:.1f} at the end "
             f"(`python bench/run.py`).\n\n{markdown}\n{wrk_line(results)}{README_END}")
    if README_START in text and README_END in text:
        text = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _m: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    readme.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="our side only, ~1 s a scenario, examples/target_app.py as target, writes nothing")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scenario per tool (default 3)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds counted in the req/s scenarios")
    parser.add_argument("--calls", type=int, default=300_000, help="calls per hot-path measurement")
    parser.add_argument("--only", default="rps,idle,hotpath,overhead,wrk",
                        help="comma-separated subset of: rps,idle,hotpath,overhead,wrk (wrk: not in --smoke)")
    parser.add_argument("--locust-version", default=LOCUST_VERSION)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--overhead-here", action="store_true",
                        help="overhead scenario: run our pytest from this interpreter's environment instead of "
                             "bench/.venv-ours (this checkout alone, as a user installs it)")
    parser.add_argument("--no-write", action="store_true", help="don't write bench/results or bench/README.md")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    if args.smoke:
        args.repeats = 1
        args.window = 1.0

    impls = ["ours"] if args.smoke else ["locust", "ours"]
    pythons = {"ours": sys.executable}
    if not args.smoke:
        pythons["locust"] = ensure_locust_venv(args.locust_version)
    core = None if args.smoke else GENERATOR_CORE
    if core is not None and not shutil.which("taskset"):
        print("warning: taskset not found (util-linux): target and generator are not pinned to cores", flush=True)
    target = TargetApp() if args.smoke else Nginx(TARGET_CORE)
    results: dict = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "smoke": args.smoke, "repeats": args.repeats,
        "window_s": args.window, "machine": machine(), "target": target.version, "metrics": {}, "errors": [],
        "load_average_start": os.getloadavg()[0],
    }
    raw: dict[str, dict[str, list[float]]] = {}

    def record(key: str, impl: str, value: float) -> None:
        raw.setdefault(key, {}).setdefault(impl, []).append(value)

    started = time.monotonic()
    try:
        for name, worker_args, timeout, fields in plan(args):
            for repeat in range(args.repeats):
                for impl in impls:  # interleaved, so drift on the machine hits both sides alike
                    result = run_worker(pythons[impl], impl, [a.replace("{url}", target.url) for a in worker_args],
                                        core, timeout)
                    if "error" in result:
                        results["errors"].append(f"{name} {impl}: {result['error']}")
                        print(f"  {name:12} {impl:6} #{repeat + 1}: ERROR {result['error']}", flush=True)
                        continue
                    results[f"{impl}_version"] = result.get("version")
                    shown = []
                    for field, key in fields.items():
                        if field in result:
                            record(key, impl, result[field])
                            shown.append(f"{key}={result[field]:,.1f}")
                    if result.get("failures"):
                        results["errors"].append(f"{name} {impl}: {result['failures']} failed requests")
                    print(f"  {name:12} {impl:6} #{repeat + 1}: {' '.join(shown)}", flush=True)
        if "overhead" in args.only:
            # One run of each first, not counted: it fills the bytecode caches both tools start from.
            overhead_python = sys.executable if args.smoke or args.overhead_here else ensure_ours_venv()
            results["overhead_python"] = "current" if overhead_python == sys.executable else "bench/.venv-ours"
            overhead_ours(overhead_python, target.url, core)
            if not args.smoke:
                overhead_locust(pythons["locust"], target.url, core)
            for repeat in range(args.repeats):
                for impl in impls:
                    if impl == "ours":
                        result = overhead_ours(overhead_python, target.url, core)
                    else:
                        result = overhead_locust(pythons["locust"], target.url, core)
                    if "error" in result:
                        results["errors"].append(f"overhead {impl}: {result['error']}")
                        print(f"  {'overhead':12} {impl:6} #{repeat + 1}: ERROR {result['error']}", flush=True)
                        continue
                    for key in ("overhead_s", "overhead_cpu_s", "overhead_net_s", "run_length_s"):
                        if key in result:
                            record(key, impl, result[key])
                    print(f"  {'overhead':12} {impl:6} #{repeat + 1}: overhead_s={result['overhead_s']:.2f} "
                          f"cpu_s={result['overhead_cpu_s']:.2f} run_length_s={result.get('run_length_s', '-')} "
                          f"net_s={result.get('overhead_net_s', float('nan')):.2f}", flush=True)
        if "wrk" in args.only and not args.smoke:
            for repeat in range(args.repeats):
                result = wrk_ceiling(target.url, core, args.window)
                if "error" in result:
                    results["errors"].append(f"wrk: {result['error']}")
                    break
                results.setdefault("wrk_rps", []).append(result["wrk_rps"])
                print(f"  {'wrk':12} {'':6} #{repeat + 1}: wrk_rps={result['wrk_rps']:,.0f}", flush=True)
    finally:
        target.stop()
    if not args.smoke:
        results["locust_version"] = results.pop("locust_version", None) or args.locust_version
    for key, per_impl in raw.items():
        results["metrics"][key] = {impl: summarize(values) for impl, values in per_impl.items()}
    results["elapsed_s"] = time.monotonic() - started
    results["load_average_end"] = os.getloadavg()[0]

    markdown = table(results, args.smoke)
    print()
    print(f"{'smoke run, our side only' if args.smoke else 'pytest-loadhooks vs Locust'} — {results['date']}, "
          f"{results['machine']['cpu']}, {results['machine']['cores']} cores")
    print(markdown)
    print(wrk_line(results).strip())
    for error in results["errors"]:
        print(f"note: {error}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.smoke and not args.no_write:
        out = BENCH / "results" / f"{dt.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        write_readme(results, markdown)
        print(f"wrote {out.relative_to(ROOT)} and bench/README.md")
    return 0 if results["metrics"] else 1


if __name__ == "__main__":
    sys.exit(main())
