"""One open-model bench scenario in its own process (run by bench/open_model.py); prints one JSON line.

``--impl ours``: pytest_loadhooks' arrival-rate executor (``runner.run_arrival``) at ``--rate``
iterations/s, from a pool of at most ``--max-users`` users. ``--impl locust`` (under
bench/.venv-locust's Python): Locust's closest, ``--users`` users with
``constant_throughput(rate / users)``, all started at once. Both: one GET of ``--path`` per
iteration, requests counted per second of the run by a ``request`` listener.

    python bench/scenarios/open_model_scenario.py --impl ours --host http://127.0.0.1:8080 --rate 500 --seconds 30
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def user_class(impl: str, args: argparse.Namespace) -> type:
    if impl == "locust":
        from locust import HttpUser, constant_throughput, task
        from locust.contrib.fasthttp import FastHttpUser
    else:
        from pytest_loadhooks import FastHttpUser, HttpUser, constant_throughput, task
    base = FastHttpUser if args.client == "fast" else HttpUser

    class Iteration(base):
        host = args.host
        wait_time = constant_throughput(args.rate / max(args.users, 1))  # Locust's pacing (ours ignores it)

        @task
        def get(self):
            self.client.get(args.path, name="iteration")

    return Iteration


def run(args: argparse.Namespace) -> dict:
    if args.impl == "locust":
        from locust.env import Environment
    else:
        from pytest_loadhooks.env import Environment
        from pytest_loadhooks.runners.arrival import RatePlan
    env = Environment(user_classes=[user_class(args.impl, args)], host=args.host)
    runner = env.create_local_runner()
    per_second: dict[int, int] = {}
    started = time.time()

    def count(**_kwargs):
        second = int(time.time() - started)
        per_second[second] = per_second.get(second, 0) + 1

    env.events.request.add_listener(count)
    cpu_before = cpu_seconds()
    if args.impl == "locust":
        runner.start(args.users, spawn_rate=args.users)
        time.sleep(args.seconds)
        runner.quit()
    else:
        import gevent

        window: dict[str, int] = {}

        def snapshot_at_plan_end() -> None:
            # Iterations started by the plan's end (+0.1 s): a generator that falls behind starts fewer.
            while runner.arrival is None or runner.arrival.started_at is None:
                gevent.sleep(0.01)
            gevent.sleep(max(runner.arrival.started_at + args.seconds + 0.1 - time.monotonic(), 0))
            window["iterations"] = env.stats.open_model.iterations

        gevent.spawn(snapshot_at_plan_end)
        # A second beyond the plan's end, so that its last iterations are answered and counted.
        runner.run_arrival(RatePlan.constant(args.rate, args.seconds), args.max_users, args.seconds + 1)
    cpu = cpu_seconds() - cpu_before
    result = {"impl": args.impl, "rate": args.rate, "seconds": args.seconds, "cpu_s": cpu,
              "requests": env.stats.total.num_requests, "failures": env.stats.total.num_failures,
              "requests_per_second": [per_second.get(s, 0) for s in range(int(args.seconds))]}
    counts = getattr(env.stats, "open_model", None)
    if counts is not None:
        total = counts.intended_histogram()
        result.update({
            "iterations": counts.iterations, "dropped": counts.dropped_iterations,
            "achieved_rate": window.get("iterations", 0) / args.seconds,
            "start_lag_ms": {q: counts.start_lag_percentile(q) for q in (0.5, 0.99, 1.0)},
            "p95_ms": env.stats.total.exact_percentile(0.95),
            "p95_intended_ms": total.percentile(total.total(), 0.95) if total.total() else None,
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=("ours", "locust"), required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--max-users", type=int, default=200)
    parser.add_argument("--users", type=int, default=20, help="Locust: users sharing the rate")
    parser.add_argument("--client", choices=("http", "fast"), default="http")
    args = parser.parse_args()
    print("BENCH-RESULT " + json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
