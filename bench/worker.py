"""One benchmark scenario for one implementation, in its own process; prints one JSON line.

Run by bench/run.py, never imported by the project. The same scenario code drives both
implementations: ``--impl ours`` imports pytest_loadhooks (under the project's Python),
``--impl locust`` imports locust (under bench/.venv-locust's Python). Both sides get the
same gevent monkey-patching, the same user classes and the same way of counting.

    python bench/worker.py --impl ours rps --kind http --host http://127.0.0.1:8080 --window 5
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import gevent  # noqa: E402


def load_impl(impl: str) -> SimpleNamespace:
    """The names a scenario needs, from Locust or from pytest-loadhooks."""
    if impl == "locust":
        import locust
        from locust.contrib.fasthttp import FastHttpUser
        from locust.env import Environment
        from locust.event import EventHook, Events
        from locust.stats import stats_history

        return SimpleNamespace(
            name="locust", version=locust.__version__, Environment=Environment, Events=Events,
            EventHook=EventHook, HttpUser=locust.HttpUser, FastHttpUser=FastHttpUser, User=locust.User,
            task=locust.task, constant=locust.constant, between=locust.between,
            # Locust's headless run samples history in a greenlet main() starts; ours does it in the runner.
            extra_greenlets=lambda runner: [gevent.spawn(stats_history, runner)],
        )
    import pytest_loadhooks
    from pytest_loadhooks import (
        Environment, EventHook, Events, FastHttpUser, HttpUser, User, between, constant, task,
    )

    return SimpleNamespace(
        name="ours", version=pytest_loadhooks.__version__, Environment=Environment, Events=Events,
        EventHook=EventHook, HttpUser=HttpUser, FastHttpUser=FastHttpUser, User=User,
        task=task, constant=constant, between=between, extra_greenlets=lambda runner: [],
    )


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def start_runner(mod: SimpleNamespace, env, users: int, spawn_rate: float):
    """Start a local runner and return it; ours runs the whole test through runner.run()."""
    runner = env.create_local_runner()
    extra = mod.extra_greenlets(runner)
    if mod.name == "ours":
        # The engine's own entry point: run() blocks until quit(), so it gets a greenlet of its own.
        driver = gevent.spawn(runner.run, users, spawn_rate, 3600)
    else:
        runner.start(users, spawn_rate)
        driver = None
    return runner, driver, extra


def stop_runner(runner, driver, extra) -> None:
    runner.quit()
    if driver is not None:
        driver.join(timeout=10)
    for greenlet in extra:
        greenlet.kill(block=False)


# -- scenario 1 and 2: req/s on one core --------------------------------------------------------

def scenario_rps(mod: SimpleNamespace, args: argparse.Namespace) -> dict:
    base = mod.HttpUser if args.kind == "http" else mod.FastHttpUser
    path = args.path

    class BenchUser(base):
        host = args.host
        wait_time = mod.constant(0)

        @mod.task
        def index(self):
            self.client.get(path)

    env = mod.Environment(user_classes=[BenchUser], host=args.host, events=mod.Events())
    spawned: dict = {}

    def on_spawning_complete(user_count, **_kwargs):
        if "t0" not in spawned:
            spawned.update(t0=time.perf_counter(), n0=env.stats.total.num_requests, cpu0=cpu_seconds(),
                           users=user_count)

    env.events.spawning_complete.add_listener(on_spawning_complete)
    runner, driver, extra = start_runner(mod, env, args.users, args.spawn_rate)
    deadline = time.monotonic() + args.max_seconds
    while "t0" not in spawned and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if "t0" not in spawned:
        stop_runner(runner, driver, extra)
        raise SystemExit("spawning did not complete in time")
    gevent.sleep(args.window)
    t1, n1, cpu1 = time.perf_counter(), env.stats.total.num_requests, cpu_seconds()
    failures = env.stats.total.num_failures
    stop_runner(runner, driver, extra)
    elapsed = t1 - spawned["t0"]
    return {
        "rps": (n1 - spawned["n0"]) / elapsed,
        "requests": n1 - spawned["n0"],
        "window_s": elapsed,
        "failures": failures,
        "users": spawned["users"],
        "generator_cpu": (cpu1 - spawned["cpu0"]) / elapsed,
        # requests per CPU-second the generator got: the same figure when other processes share its core
        "rps_per_cpu": (n1 - spawned["n0"]) / max(cpu1 - spawned["cpu0"], 1e-9),
        "load_average": os.getloadavg()[0],
    }


# -- scenario 3: memory per idle user ----------------------------------------------------------

def scenario_idle(mod: SimpleNamespace, args: argparse.Namespace) -> dict:
    class IdleUser(mod.HttpUser):
        host = args.host
        wait_time = mod.between(1, 2)

        @mod.task
        def idle(self):
            pass

    env = mod.Environment(user_classes=[IdleUser], host=args.host, events=mod.Events())
    gc.collect()
    baseline = rss_kib()
    runner, driver, extra = start_runner(mod, env, args.users, args.spawn_rate)
    spawned: dict = {}
    env.events.spawning_complete.add_listener(lambda user_count, **_: spawned.setdefault("t", time.monotonic()))
    deadline = time.monotonic() + args.max_seconds
    while "t" not in spawned and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if "t" not in spawned:
        stop_runner(runner, driver, extra)
        raise SystemExit("spawning did not complete in time")
    # Hold long enough that every user has run a task and slept at least once.
    gevent.sleep(args.hold)
    users = runner.user_count
    peak = peak_rss_kib()
    stop_runner(runner, driver, extra)
    return {
        "users": users,
        "baseline_rss_kib": baseline,
        "peak_rss_kib": peak,
        "rss_per_user_kib": (peak - baseline) / max(users, 1),
    }


# -- scenario 4: the per-request hot path ------------------------------------------------------

def _per_call_ns(fire, calls: int, response_times: list[float], url: str, chunks: int = 20) -> float:
    """CPU ns per call, the best of ``chunks`` equal runs (timeit's rule: noise only ever adds time).

    Timed with the thread's CPU clock, so time the process spends preempted by other work on
    a shared core is not counted.
    """
    now = time.time()
    mask = len(response_times) - 1
    per_chunk = max(calls // chunks, 1)
    best = float("inf")
    for _ in range(chunks):
        started = time.thread_time_ns()
        for i in range(per_chunk):
            fire(request_type="GET", name="/", response_time=response_times[i & mask], response_length=612,
                 response=None, context={}, exception=None, start_time=now, url=url)
        best = min(best, (time.thread_time_ns() - started) / per_chunk)
    return best


def scenario_hotpath(mod: SimpleNamespace, args: argparse.Namespace) -> dict:
    rng = random.Random(1)
    response_times = [rng.lognormvariate(1.0, 0.8) for _ in range(1024)]
    url = "http://127.0.0.1/"
    env = mod.Environment(user_classes=[], host=url, events=mod.Events())
    env.create_local_runner()  # Locust registers its stats listener here; ours when the Environment is made
    results = {}
    hook = env.events.request
    _per_call_ns(hook.fire, args.calls // 10, response_times, url)  # warm up
    results["request_fire_stats_ns"] = _per_call_ns(hook.fire, args.calls, response_times, url)
    results["request_listeners"] = len(hook._handlers)
    if env.stats.total.num_requests < args.calls:
        raise SystemExit("the stats listener did not record the requests")

    def noop(**_kwargs):
        pass

    for count in (0, 1, 10):
        hook = mod.EventHook()
        for _ in range(count):
            hook.add_listener(noop)
        _per_call_ns(hook.fire, args.calls // 10, response_times, url)
        results[f"eventhook_fire_{count}_ns"] = _per_call_ns(hook.fire, args.calls, response_times, url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("ours", "locust"), required=True)
    sub = parser.add_subparsers(dest="scenario", required=True)
    rps = sub.add_parser("rps")
    rps.add_argument("--kind", choices=("http", "fast"), required=True)
    rps.add_argument("--host", required=True)
    rps.add_argument("--path", default="/")
    rps.add_argument("--users", type=int, default=50)
    rps.add_argument("--spawn-rate", type=float, default=50)
    rps.add_argument("--window", type=float, default=10, help="seconds counted after all users spawned")
    rps.add_argument("--max-seconds", type=float, default=30)
    idle = sub.add_parser("idle")
    idle.add_argument("--host", default="http://127.0.0.1:9")
    idle.add_argument("--users", type=int, default=1000)
    idle.add_argument("--spawn-rate", type=float, default=5000)
    idle.add_argument("--hold", type=float, default=2.5)
    idle.add_argument("--max-seconds", type=float, default=60)
    hot = sub.add_parser("hotpath")
    hot.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()

    mod = load_impl(args.impl)
    scenario = {"rps": scenario_rps, "idle": scenario_idle, "hotpath": scenario_hotpath}[args.scenario]
    result = scenario(mod, args)
    result.update(impl=mod.name, version=mod.version, python=sys.version.split()[0])
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
