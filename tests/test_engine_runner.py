"""The local runner: states, user dispatch (weights, fixed_count), ramping up and down,
load shapes, run time, stop timeout, quitting from anywhere, history, exit status.

Runs are short and use few users; timing checks are sanity bounds with wide margins.
"""

from __future__ import annotations

import time
from collections import Counter

import gevent
import pytest

from engine_support import make_env, run_until, sample_while, wait_for
from pytest_loadhooks import Events, LoadTestShape, User, constant, task
from pytest_loadhooks.dispatch import changes, distribution, spawn_order
from pytest_loadhooks.runners import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
)


class Idle(User):
    abstract = True
    wait_time = constant(0.05)

    @task
    def idle(self):
        pass


def idle_class(name: str, **attrs) -> type:
    return type(name, (Idle,), {"abstract": False, **attrs})


# -- states ------------------------------------------------------------------------------------------

def test_states_go_init_spawning_running_stopping_cleanup_stopped():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    assert runner.state == STATE_INIT
    states = []
    original = runner.update_state
    runner.update_state = lambda state: (states.append(state), original(state))

    runner.start(3, 10)
    assert runner.state == STATE_SPAWNING
    gevent.sleep(0.5)
    assert runner.state == STATE_RUNNING and runner.user_count == 3
    runner.stop()
    assert runner.state == STATE_STOPPED and runner.user_count == 0
    assert states == [STATE_SPAWNING, STATE_RUNNING, STATE_STOPPING, STATE_CLEANUP, STATE_STOPPED]
    assert runner.start_time is not None and runner.stop_time >= runner.start_time


def test_stop_and_quit_are_harmless_before_a_start_and_when_repeated():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    runner.stop()
    runner.quit()
    assert runner.state == STATE_INIT
    runner.start(1, 10, wait=True)
    runner.quit()
    runner.quit()
    runner.stop()
    assert runner.state == STATE_STOPPED


def test_run_time_limits_the_run():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    started = time.monotonic()
    assert runner.run(2, 20, 0.5) == 0
    assert 0.45 <= time.monotonic() - started < 2.5
    assert runner.state == STATE_STOPPED


def test_a_runner_can_run_again_with_fresh_stats():
    class Reporting(User):
        wait_time = constant(0.05)

        @task
        def report(self):
            self.environment.events.request.fire(
                request_type="CUSTOM", name="op", response_time=2.0, response_length=1, response=None,
                context={}, exception=None, start_time=time.time(), url=None,
            )

    env = make_env(Reporting)
    starts = []
    env.events.test_start.add_listener(lambda **kw: starts.append(True))
    runner = env.create_local_runner()
    runner.run(1, 10, 0.3)
    first = env.stats.total.num_requests
    runner.run(1, 10, 0.3)
    assert starts == [True, True]
    assert 0 < env.stats.total.num_requests <= first + 3  # counted from zero again, not added on


# -- dispatch: weights and fixed_count ------------------------------------------------------------------

def test_distribution_follows_weights():
    a, b = idle_class("A", weight=3), idle_class("B", weight=1)
    assert distribution([a, b], 8) == {a: 6, b: 2}
    assert distribution([a, b], 0) == {a: 0, b: 0}
    assert sum(distribution([a, b], 7).values()) == 7


def test_fixed_count_users_come_first_and_never_exceed_their_count():
    fixed = idle_class("Fixed", fixed_count=2)
    light, heavy = idle_class("Light", weight=1), idle_class("Heavy", weight=3)
    classes = [fixed, light, heavy]
    assert distribution(classes, 10) == {fixed: 2, light: 2, heavy: 6}
    assert distribution(classes, 1) == {fixed: 1, light: 0, heavy: 0}
    only = idle_class("Only", fixed_count=5)
    assert distribution([only], 3) == {only: 3}
    assert distribution([only], 9) == {only: 5}  # nothing else to run: the rest stay unspawned


def test_spawn_order_prefixes_keep_the_mix_close_to_the_weights():
    a, b, c = idle_class("A", weight=1), idle_class("B", weight=2), idle_class("C", weight=5)
    full = spawn_order([a, b, c], 40)
    for n in range(1, 41):
        prefix = spawn_order([a, b, c], n)
        assert prefix == full[:n]
        counts = Counter(prefix)
        for cls, weight in ((a, 1), (b, 2), (c, 5)):
            assert abs(counts[cls] - n * weight / 8) < 1.0 + 1e-9, (n, cls, counts)


def test_changes_between_counts():
    a, b = idle_class("A", weight=1), idle_class("B", weight=1)
    to_add, to_remove = changes([a, b], {}, 4)
    assert Counter(to_add) == {a: 2, b: 2} and to_remove == []
    to_add, to_remove = changes([a, b], {a: 2, b: 2}, 1)
    assert to_add == [] and Counter(to_remove) == {a: 1, b: 2}
    # A class no longer in the run goes entirely.
    to_add, to_remove = changes([b], {a: 2, b: 2}, 3)
    assert Counter(to_add) == {b: 1} and Counter(to_remove) == {a: 2}


def test_weights_and_fixed_count_in_a_real_run():
    fixed = idle_class("Fixed", fixed_count=2)
    light, heavy = idle_class("Light", weight=1), idle_class("Heavy", weight=3)
    env = make_env(fixed, light, heavy)
    runner = env.create_local_runner()
    runner.start(10, 200, wait=True)
    assert runner.user_classes_count == {"Fixed": 2, "Light": 2, "Heavy": 6}
    runner.start(5, 200, wait=True)
    expected = {cls.__name__: n for cls, n in distribution([fixed, light, heavy], 5).items()}
    assert runner.user_classes_count == expected and expected["Fixed"] == 2
    runner.quit()


def sample_until(probe, value, every: float = 0.03, timeout: float = 5.0) -> list[tuple[float, int]]:
    """(elapsed, probe()) samples until probe() == value; fails after ``timeout`` seconds."""
    samples = []
    started = time.monotonic()
    while True:
        elapsed, current = time.monotonic() - started, probe()
        samples.append((elapsed, current))
        if current == value:
            return samples
        assert elapsed < timeout, samples
        gevent.sleep(every)


# -- ramping up and down --------------------------------------------------------------------------------

def test_ramp_up_and_down_at_the_spawn_rate():
    a, b = idle_class("A", weight=1), idle_class("B", weight=1)
    env = make_env(a, b)
    completed = []
    env.events.spawning_complete.add_listener(lambda user_count, **kw: completed.append(user_count))
    runner = env.create_local_runner()

    runner.start(6, 10)  # one user every 0.1 s: about 0.5 s to reach 6
    up = sample_until(lambda: runner.user_count, 6)
    counts = [n for _, n in up]
    assert counts == sorted(counts) and counts[0] < 3
    assert len(set(counts)) >= 4  # users joined one by one, not all at once
    assert up[-1][0] >= 0.35
    wait_for(lambda: completed == [6])

    runner.start(2, 10)  # four to stop, one every 0.1 s
    down = sample_until(lambda: runner.user_count, 2)
    counts = [n for _, n in down]
    assert counts == sorted(counts, reverse=True) and counts[0] > 3
    assert len(set(counts)) >= 3
    assert down[-1][0] >= 0.2
    assert runner.user_classes_count == {"A": 1, "B": 1}
    wait_for(lambda: len(completed) == 2)  # fired once the ramp's last step is over
    assert completed == [6, 2]
    runner.quit()


def test_a_new_start_during_a_ramp_retargets_it():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    runner.start(20, 10)
    gevent.sleep(0.25)
    runner.start(2, 100, wait=True)
    assert runner.user_count == 2 and runner.state == STATE_RUNNING
    runner.quit()


# -- load shapes -----------------------------------------------------------------------------------------

def test_a_shape_drives_users_and_classes_and_ends_the_run_with_none():
    first, second = idle_class("First"), idle_class("Second")
    ticks = []

    class Steps(LoadTestShape):
        def tick(self):
            run_time = self.get_run_time()
            ticks.append((run_time, self.get_current_user_count()))
            if run_time < 0.6:
                return 2, 50
            if run_time < 1.4:
                return 4, 50, [second]
            return None

    shape = Steps()
    env = make_env(first, second, shape_class=shape)
    runner = env.create_local_runner()
    runner.shape_tick_interval = 0.1
    samples = []
    watcher = gevent.spawn(sample_while, runner, 2.0, 0.05, lambda: runner.user_classes_count, samples)
    started = time.monotonic()
    assert runner.run() == 0
    elapsed = time.monotonic() - started
    watcher.kill()

    assert 1.35 <= elapsed < 3.5  # ended by tick() returning None, not by a run time
    assert runner.state == STATE_STOPPED and shape.runner is runner
    times = [t for t, _ in ticks]
    assert times == sorted(times) and times[0] < 0.1 and 6 <= len(ticks) <= 16
    seen = [counts for _, counts in samples]
    assert {"First": 1, "Second": 1} in seen  # no classes in the tick: the environment's
    assert {"First": 0, "Second": 4} in seen  # classes in the tick: only those (every class listed, as Locust)
    first_phase = [c for t, c in samples if 0.2 < t < 0.55]
    second_phase = [c for t, c in samples if 1.0 < t < 1.35]
    assert first_phase and all(c == {"First": 1, "Second": 1} for c in first_phase)
    assert second_phase and all(c == {"First": 0, "Second": 4} for c in second_phase)
    assert max(n for _, n in ticks) == 4


def test_a_shape_returning_none_at_once_ends_the_run_without_traffic():
    class Nothing(LoadTestShape):
        def tick(self):
            return None

    env = make_env(idle_class("A"), shape_class=Nothing())
    started = []
    env.events.test_start.add_listener(lambda **kw: started.append(True))
    runner = env.create_local_runner()
    assert runner.run() == 0
    assert started == []


def test_a_shape_whose_tick_raises_ends_the_run_errored_instead_of_hanging():
    class Broken(LoadTestShape):
        calls = 0

        def tick(self):
            self.calls += 1
            if self.calls > 2:
                raise RuntimeError("tick broke")
            return 2, 50

    env = make_env(idle_class("A"), shape_class=Broken())
    runner = env.create_local_runner()
    runner.shape_tick_interval = 0.1
    result = gevent.spawn(runner.run)
    result.join(timeout=5)
    assert result.dead, "the run hung after the shape crashed"
    assert result.value == 2 and runner.state == STATE_STOPPED
    assert any("tick broke" in e for e in runner.runner_errors)


def test_a_user_whose_init_raises_ends_the_run_errored_instead_of_hanging():
    class BrokenInit(Idle):
        abstract = False

        def __init__(self, environment):
            super().__init__(environment)
            raise RuntimeError("init broke")

    env = make_env(BrokenInit)
    runner = env.create_local_runner()
    result = gevent.spawn(runner.run, 2, 10)
    result.join(timeout=5)
    assert result.dead and result.value == 2 and runner.state == STATE_STOPPED


# -- stop timeout ---------------------------------------------------------------------------------------

def long_task_user(log: list, task_seconds: float, wait=None) -> type:
    class Busy(User):
        wait_time = wait or constant(0)

        @task
        def work(self):
            log.append("begin")
            gevent.sleep(task_seconds)
            log.append("done")

        def on_stop(self):
            log.append("on_stop")

    return Busy


def test_graceful_stop_lets_a_running_task_finish_within_the_stop_timeout():
    log = []
    env = make_env(long_task_user(log, 0.5), stop_timeout=3)
    runner = env.create_local_runner()
    runner.start(1, 10, wait=True)
    gevent.sleep(0.15)
    assert log == ["begin"]
    started = time.monotonic()
    runner.stop()
    elapsed = time.monotonic() - started
    assert log == ["begin", "done", "on_stop"]  # finished its task, started no new one
    assert 0.2 <= elapsed < 2.0


def test_a_task_longer_than_the_stop_timeout_is_killed():
    log = []
    env = make_env(long_task_user(log, 30), stop_timeout=0.3)
    runner = env.create_local_runner()
    runner.start(1, 10, wait=True)
    gevent.sleep(0.1)
    started = time.monotonic()
    runner.stop()
    elapsed = time.monotonic() - started
    assert log == ["begin", "on_stop"]
    assert 0.25 <= elapsed < 2.0


def test_without_a_stop_timeout_users_are_killed_at_once():
    log = []
    env = make_env(long_task_user(log, 30))
    runner = env.create_local_runner()
    runner.start(2, 100, wait=True)
    gevent.sleep(0.05)
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 1.0
    assert log.count("on_stop") == 2 and "done" not in log


def test_a_waiting_user_stops_at_once_even_with_a_stop_timeout():
    log = []
    env = make_env(long_task_user(log, 0.01, wait=constant(30)), stop_timeout=10)
    runner = env.create_local_runner()
    runner.start(1, 10, wait=True)
    gevent.sleep(0.1)
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 1.0
    assert log == ["begin", "done", "on_stop"]


def test_ramping_down_stops_users_gracefully_too():
    log = []
    env = make_env(long_task_user(log, 0.3), stop_timeout=3)
    runner = env.create_local_runner()
    runner.start(2, 100, wait=True)
    gevent.sleep(0.1)
    runner.start(1, 100, wait=True)
    gevent.sleep(0.4)
    assert log.count("on_stop") == 1
    index = log.index("on_stop")
    assert "done" in log[:index]  # the removed user finished its task before stopping
    runner.quit()


# -- quitting from anywhere ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stop_timeout", [0, 2])
def test_quit_from_inside_a_task_ends_the_run_promptly(stop_timeout):
    calls = []

    class Quitting(User):
        wait_time = constant(0.02)

        @task
        def maybe_quit(self):
            calls.append(self)
            if len(calls) == 5:
                self.environment.runner.quit()

    env = make_env(Quitting, stop_timeout=stop_timeout)
    stopped = []
    env.events.test_stop.add_listener(lambda **kw: stopped.append(True))
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.run(3, 100, 20)
    assert time.monotonic() - started < 3
    assert stopped == [True] and runner.state == STATE_STOPPED and runner.user_count == 0


def test_quit_from_lifecycle_listeners_does_not_deadlock():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    env.events.spawning_complete.add_listener(lambda **kw: runner.quit())
    env.events.test_stopping.add_listener(lambda **kw: runner.quit())
    env.events.test_stop.add_listener(lambda **kw: runner.stop())
    result = gevent.spawn(runner.run, 2, 100, 20)
    result.join(timeout=5)
    assert result.dead and result.value == 0 and runner.state == STATE_STOPPED


def test_quit_from_a_background_greenlet_waits_for_the_stop_to_finish():
    env = make_env(long_task_user([], 0.3), stop_timeout=2)
    runner = env.create_local_runner()
    runner.start(2, 100, wait=True)
    gevent.sleep(0.05)
    first = gevent.spawn(runner.quit)
    gevent.sleep(0.01)
    assert runner.state == STATE_STOPPING
    runner.stop()  # a second stop waits for the first, so afterwards the run is over
    assert runner.state == STATE_STOPPED
    first.join(timeout=2)
    assert first.dead


# -- history and exit status ----------------------------------------------------------------------------------

def test_history_is_sampled_at_the_runner_interval():
    class Reporting(User):
        wait_time = constant(0.01)

        @task
        def report(self):
            self.environment.events.request.fire(
                request_type="CUSTOM", name="op", response_time=5.0, response_length=1, response=None,
                context={}, exception=None, start_time=time.time(), url=None,
            )

    env = make_env(Reporting)
    runner = env.create_local_runner()
    runner.history_interval = 0.2
    rows_seen = []
    runner.history_listeners.append(rows_seen.append)
    runner.run(2, 100, 1.0)
    history = env.stats.history
    assert 3 <= len(history) <= 8 and rows_seen == history
    for row in history:
        assert {"time", "user_count", "current_rps", "current_fail_per_sec", "num_requests", "num_failures",
                "response_time_percentile_0.5", "response_time_percentile_0.95"} <= set(row)
    assert history[0]["user_count"] == 2 and history[-1]["user_count"] == 0
    assert history[0]["response_time_percentile_0.5"] == 5.0  # the first row already has percentiles
    assert history[0]["response_time_percentile_0.95"] == 5.0
    assert [r["num_requests"] for r in history] == sorted(r["num_requests"] for r in history)


def test_a_crashing_history_listener_does_not_stop_the_run():
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    runner.history_interval = 0.1

    def broken(row):
        raise RuntimeError("writer broke")

    runner.history_listeners.append(broken)
    assert runner.run(1, 10, 0.4) == 0
    assert len(env.stats.history) >= 3


# -- what a run owns: the greenlets its users start -----------------------------------------------------------

def fire(environment, name: str) -> None:
    environment.events.request.fire(request_type="CUSTOM", name=name, response_time=1.0, response_length=1,
                                    response=None, context={}, exception=None, start_time=time.time(), url=None)


def counted_names(env) -> set[str]:
    return {name for name, _method in env.stats.entries}


def test_greenlets_a_user_starts_are_killed_when_its_run_ends():
    import threading

    from gevent.pool import Pool

    ticks: Counter = Counter()
    started: list[gevent.Greenlet] = []

    def loop(key):
        while True:
            ticks[key] += 1
            gevent.sleep(0.01)

    class Starter(User):
        wait_time = constant(0.05)

        def on_start(self):
            started.append(gevent.spawn(loop, "spawn"))
            started.append(gevent.spawn_later(0.01, loop, "spawn_later"))
            greenlet = gevent.Greenlet(loop, "Greenlet.start")
            greenlet.start()
            started.append(greenlet)
            started.append(Pool(2).spawn(loop, "pool"))
            # a grandchild whose parent is gone by the time the run ends
            started.append(gevent.spawn(lambda: started.append(gevent.spawn(loop, "grandchild"))))
            threading.Thread(target=loop, args=("thread",), daemon=True).start()  # a greenlet, patched

        @task
        def idle(self):
            pass

    env = make_env(Starter, stop_timeout=1)
    runner = env.create_local_runner()
    try:
        run_until(env, 1, 10, lambda: len(ticks) == 6)
        assert all(greenlet.dead for greenlet in started), [g for g in started if not g.dead]
        seen = dict(ticks)
        gevent.sleep(0.1)
        assert dict(ticks) == seen, "a greenlet a user started went on after its run ended"
        assert runner.state == STATE_STOPPED and not runner.run_warnings
    finally:
        gevent.killall(started)


def test_greenlets_the_users_did_not_start_outlive_the_run():
    ticks: Counter = Counter()

    def loop(key):
        while True:
            ticks[key] += 1
            gevent.sleep(0.01)

    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    from_listener = []
    env.events.test_start.add_listener(lambda **kw: from_listener.append(gevent.spawn(loop, "listener")))
    runner.history_interval = 0.1
    runner.start(2, 100, wait=True)
    from_test = gevent.spawn(loop, "test")
    try:
        gevent.sleep(0.3)
        runner.quit()
        assert not from_test.dead and not from_listener[0].dead
        assert runner.run_warnings == []
        runner.run(1, 100, 0.5)  # the runner's own loops start again and sample the second run
        assert len(env.stats.history) >= 3
        assert not from_test.dead
    finally:
        gevent.killall([from_test, *from_listener])


def test_a_greenlet_that_survives_its_kill_is_said_and_never_counted_in_a_later_run():
    shared = Events()
    going = [True]
    seen_by_listener = Counter()
    shared.request.add_listener(lambda name, **kw: seen_by_listener.update([name]))
    stubborn = []

    def refuse_to_die(environment):
        while going[0]:
            try:
                fire(environment, "stubborn")
                gevent.sleep(0.01)
            except gevent.GreenletExit:
                pass  # swallows the kill: the run cannot end it

    class Leaving(User):
        wait_time = constant(0.05)

        def on_start(self):
            stubborn.append(gevent.spawn(refuse_to_die, self.environment))

        @task
        def op(self):
            fire(self.environment, "first")

    class Staying(User):
        wait_time = constant(0.02)

        @task
        def op(self):
            fire(self.environment, "second")

    first = make_env(Leaving, events=shared)
    second = make_env(Staying, events=shared)
    try:
        first.create_local_runner().run(1, 10, 0.3)
        assert counted_names(first) == {"first", "stubborn"}  # counted while its run ran
        assert [line for line in first.runner.run_warnings if "1 greenlet started by users" in line]
        assert len(first.runner.run_warnings) == 1  # its own late requests are said there, not as an earlier run's
        first.close()
        before = seen_by_listener["stubborn"]
        second.create_local_runner().run(1, 10, 0.5)
        assert counted_names(second) == {"second"}
        assert seen_by_listener["stubborn"] > before  # the hook itself still hands every request on
        late = [line for line in second.runner.run_warnings if "users of an earlier run started, after it ended: not counted" in line]
        assert late and "stubborn" not in late[0], second.runner.run_warnings
    finally:
        going[0] = False
        gevent.joinall(stubborn, timeout=2)


def test_two_runs_at_once_on_one_events_count_only_their_own_users():
    shared = Events()

    def firing(name):
        def op(self):
            fire(self.environment, name)
        return type(name.upper(), (User,), {"wait_time": constant(0.02), "op": task(op)})

    one, two = make_env(firing("one"), events=shared), make_env(firing("two"), events=shared)
    first, second = one.create_local_runner(), two.create_local_runner()
    first.start(1, 10)
    second.start(1, 10)
    fire(one, "by-hand")  # fired by no user of any run: counted as ever, by every Environment listening
    gevent.sleep(0.3)
    first.quit()
    second.quit()
    assert counted_names(one) == {"one", "by-hand"}
    assert counted_names(two) == {"two", "by-hand"}


def test_with_greenlet_tree_tracking_off_the_run_says_it_cannot_end_what_users_start(monkeypatch):
    monkeypatch.setattr(gevent.config, "track_greenlet_tree", False)  # GEVENT_TRACK_GREENLET_TREE=0
    env = make_env(idle_class("A"))
    runner = env.create_local_runner()
    runner.run(1, 10, 0.2)
    assert [line for line in runner.run_warnings if line.startswith("GEVENT_TRACK_GREENLET_TREE is off")]


# -- what Environment and run_single_user ask of a runner ---------------------------------------------

def test_start_single_user_begins_a_run_of_one_user_at_once():
    env = make_env(idle_class("Solo"))
    runner = env.create_local_runner()
    seen = []
    env.events.test_start.add_listener(lambda **_kw: seen.append(("test_start", runner.target_user_count)))
    env.events.spawning_complete.add_listener(lambda **_kw: seen.append(("spawning_complete",)))
    user = runner.start_single_user(env.user_classes[0])
    assert seen == [("test_start", 1)]  # no ramp: no spawning_complete
    assert runner.state == STATE_RUNNING and runner.user_count == 1
    assert runner.users[env.user_classes[0]] == [user] and not user.greenlet.dead
    runner.quit()
    assert runner.state == STATE_STOPPED and user.greenlet.dead


def test_remove_listeners_detaches_the_runner_from_events_that_outlive_it():
    events = Events()
    env = make_env(idle_class("Detached"), events=events)
    runner = env.create_local_runner()
    assert runner._on_user_error in events.user_error._handlers
    env.close()  # through runner.remove_listeners()
    assert runner._on_user_error not in events.user_error._handlers
    runner.remove_listeners()  # a second time: harmless
