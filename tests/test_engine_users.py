"""Users and tasks: weights, tags, TaskSet nesting and interrupt, sequential sets,
on_start/on_stop, wait times, and bad input rejected before any traffic.

Users run as real greenlets; most tests need no HTTP. Timing checks are sanity
bounds with wide margins (this machine is shared), never tight timings.
"""

from __future__ import annotations

import time
from collections import Counter
from statistics import median

import gevent
import pytest

from engine_support import make_env, run_until
from pytest_loadhooks import (
    ConfigurationError,
    HttpUser,
    RescheduleTask,
    RescheduleTaskImmediately,
    SequentialTaskSet,
    StopUser,
    TaskSet,
    User,
    between,
    constant,
    constant_pacing,
    constant_throughput,
    tag,
    task,
)
from pytest_loadhooks.env import is_concrete_user_class
from pytest_loadhooks.runners import STATE_INIT

# -- task weights ------------------------------------------------------------------------------

PICKS = 6000
TOLERANCE = 0.03  # absolute, on each proportion: > 4 standard deviations at 6000 picks


def run_until_picks(user_class: type, counts: Counter, picks: int = PICKS) -> None:
    """Run one user until it has picked ``picks`` tasks (it quits the run itself)."""
    env = make_env(user_class)
    runner = env.create_local_runner()
    runner.run(1, 10, 10)
    assert sum(counts.values()) >= picks, "the run ended before enough picks"


def test_task_decorator_weights_give_the_observed_proportions():
    counts = Counter()

    class Weighted(User):
        def count(self, name):
            counts[name] += 1
            if sum(counts.values()) == PICKS:
                self.environment.runner.quit()

        @task(1)
        def rare(self):
            self.count("rare")

        @task(3)
        def common(self):
            self.count("common")

        @task(6)
        def frequent(self):
            self.count("frequent")

        @task(0)
        def never(self):
            self.count("never")

    started = time.monotonic()
    run_until_picks(Weighted, counts)
    assert time.monotonic() - started < 8  # quit() from the task ended the run early
    total = sum(counts.values())
    assert counts["never"] == 0
    for name, expected in (("rare", 0.1), ("common", 0.3), ("frequent", 0.6)):
        assert abs(counts[name] / total - expected) < TOLERANCE, (name, counts)


def test_dict_and_tuple_task_weights_in_a_task_set():
    counts = Counter()

    def note(name):
        def run(taskset):
            counts[name] += 1
            if sum(counts.values()) == PICKS:
                taskset.user.environment.runner.quit()

        run.__name__ = name
        return run

    one, two, three = note("one"), note("two"), note("three")

    class DictSet(TaskSet):
        tasks = {one: 1, two: 4}

    class TupleSet(TaskSet):
        tasks = [(one, 1), (three, 3)]

    assert Counter(DictSet.tasks) == {one: 1, two: 4}
    assert Counter(TupleSet.tasks) == {one: 1, three: 3}

    class Mixed(User):
        tasks = {DictSet: 1}

    class Interrupting(DictSet):
        @task(5)
        def leave(self):
            counts["leave"] += 1
            self.interrupt()

    # The subclass inherits DictSet's tasks and adds its own.
    assert Counter(Interrupting.tasks) == {one: 1, two: 4, Interrupting.leave: 5}

    run_until_picks(Mixed, counts)
    total = sum(counts.values())
    assert abs(counts["one"] / total - 0.2) < TOLERANCE, counts
    assert abs(counts["two"] / total - 0.8) < TOLERANCE, counts


def test_explicit_tasks_and_task_methods_combine_as_in_locust():
    def listed(user):
        pass

    class Base(User):
        @task
        def inherited(self):
            pass

    class Both(Base):
        tasks = [listed]

        @task(2)
        def decorated(self):
            pass

    assert Counter(Both.tasks) == {Base.inherited: 1, listed: 1, Both.decorated: 2}
    assert Counter(Base.tasks) == {Base.inherited: 1}


# -- tags ------------------------------------------------------------------------------------------

def make_tagged_user(counts: Counter) -> type:
    class Browse(TaskSet):
        @task
        def browse_page(self):
            counts["browse_page"] += 1

        @tag("slow")
        @task
        def browse_slowly(self):
            counts["browse_slowly"] += 1
            self.interrupt()  # a run tagged "slow" keeps only this task of the set: it must leave

        @task
        def done(self):
            self.interrupt()

    @tag("checkout")
    class CheckoutSet(TaskSet):
        @task
        def pay(self):
            counts["pay"] += 1
            self.interrupt()

    class Shop(User):
        wait_time = constant(0.005)
        tasks = [Browse, CheckoutSet]

        @tag("checkout", "cart")
        @task
        def add_to_cart(self):
            counts["add_to_cart"] += 1

        @tag("slow")
        @task
        def search(self):
            counts["search"] += 1

        @task
        def home(self):
            counts["home"] += 1

    return Shop


def run_briefly(env, until, users: int = 1, seconds: float = 0.4) -> None:
    """Run until ``until()`` holds, and for at least ``seconds`` (so what must not happen could)."""
    run_until(env, users, 50, until, min_time=seconds)


def test_tags_keep_only_tagged_tasks_including_tagged_task_sets():
    counts = Counter()
    shop = make_tagged_user(counts)
    original_tasks = list(shop.tasks)
    env = make_env(shop, tags=["checkout"])
    run_briefly(env, lambda: counts["add_to_cart"] and counts["pay"])
    assert set(counts) == {"add_to_cart", "pay"}, counts
    assert shop.tasks == original_tasks  # the user's own class is untouched


def test_exclude_tags_drop_tagged_tasks_at_every_level():
    counts = Counter()
    shop = make_tagged_user(counts)
    env = make_env(shop, exclude_tags=["slow", "checkout"])
    run_briefly(env, lambda: counts["browse_page"] and counts["home"])
    assert set(counts) == {"browse_page", "home"}, counts


def test_tags_and_exclude_tags_together():
    counts = Counter()
    shop = make_tagged_user(counts)
    env = make_env(shop, tags=["checkout", "slow"], exclude_tags=["cart"])
    run_briefly(env, lambda: counts["pay"] and counts["search"] and counts["browse_slowly"])
    assert set(counts) == {"pay", "search", "browse_slowly"}, counts


def test_tags_that_leave_no_task_are_a_configuration_error():
    counts = Counter()
    env = make_env(make_tagged_user(counts), tags=["no-such-tag"])
    runner = env.create_local_runner()
    with pytest.raises(ConfigurationError, match="no tasks after tag filtering"):
        runner.start(1, 10)
    assert runner.state == STATE_INIT


def test_tag_needs_a_name():
    with pytest.raises(ValueError):
        tag("")


# -- TaskSet nesting, interrupt, on_start / on_stop -------------------------------------------------

def test_nested_task_sets_run_inside_their_parents_and_interrupt_returns_control():
    log = []

    class Inner(TaskSet):
        wait_time = constant(0)

        def on_start(self):
            log.append(("inner.on_start", type(self.parent).__name__))

        def on_stop(self):
            log.append("inner.on_stop")

        @task
        def inner_task(self):
            log.append(("inner.task", type(self.user).__name__))
            self.interrupt()

    class Outer(SequentialTaskSet):
        wait_time = constant(0)

        def on_start(self):
            log.append("outer.on_start")

        def on_stop(self):
            log.append("outer.on_stop")

        @task
        def first(self):
            log.append("outer.first")

        tasks = [Inner]

        @task
        def last(self):
            log.append("outer.last")
            self.interrupt()

    class Nesting(User):
        wait_time = constant(0.05)
        tasks = [Outer]

        def on_start(self):
            log.append("user.on_start")

        def on_stop(self):
            log.append("user.on_stop")

    run_briefly(make_env(Nesting), lambda: log.count("outer.on_stop") >= 2, seconds=0.1)

    cycle = [
        "outer.on_start", "outer.first",
        ("inner.on_start", "Outer"), ("inner.task", "Nesting"), "inner.on_stop",
        "outer.last", "outer.on_stop",
    ]
    assert log[:1 + 2 * len(cycle)] == ["user.on_start", *cycle, *cycle]
    assert log[-1] == "user.on_stop" and log.count("user.on_stop") == 1


def test_sequential_task_set_runs_in_declaration_order_with_weights_repeating_in_place():
    order = []

    def listed(taskset):
        order.append("listed")

    class Steps(SequentialTaskSet):
        wait_time = constant(0)

        @task
        def first(self):
            order.append("first")

        tasks = [listed]

        @task(2)
        def twice(self):
            order.append("twice")

        @task
        def last(self):
            order.append("last")
            gevent.sleep(0.01)

    class Walker(User):
        wait_time = constant(0)
        tasks = [Steps]

    run_briefly(make_env(Walker), lambda: len(order) >= 15, seconds=0.1)
    assert len(order) >= 15
    assert order[:15] == ["first", "listed", "twice", "twice", "last"] * 3


def test_interrupt_reschedule_true_runs_the_next_task_at_once_false_waits_first():
    stamps: dict[bool, list[float]] = {True: [], False: []}

    def make(reschedule: bool) -> type:
        class Leaving(TaskSet):
            wait_time = constant(0)

            @task
            def leave(self):
                stamps[reschedule].append(time.monotonic())
                gevent.sleep(0.01)
                self.interrupt(reschedule=reschedule)

        class Parent(User):
            fixed_count = 1
            wait_time = constant(0.4)  # the parent's wait, taken only when not rescheduled at once
            tasks = [Leaving]

        Parent.__name__ = f"Parent{reschedule}"
        return Parent

    env = make_env(make(True), make(False))
    env.create_local_runner().run(2, 50, 1.0)

    at_once = [b - a for a, b in zip(stamps[True], stamps[True][1:])]
    waited = [b - a for a, b in zip(stamps[False], stamps[False][1:])]
    assert len(at_once) >= 10 and median(at_once) < 0.1
    assert 1 <= len(waited) <= 3 and min(waited) >= 0.35


def test_reschedule_task_exceptions_from_a_task():
    stamps = {"wait": [], "now": []}

    class Rescheduling(User):
        wait_time = constant(0.3)
        fixed_count = 1

        @task
        def again(self):
            stamps["wait"].append(time.monotonic())
            raise RescheduleTask()

    class Immediate(User):
        wait_time = constant(0.3)
        fixed_count = 1

        @task
        def again(self):
            stamps["now"].append(time.monotonic())
            gevent.sleep(0.01)
            raise RescheduleTaskImmediately()

    env = make_env(Rescheduling, Immediate)
    errors = []
    env.events.user_error.add_listener(lambda **kw: errors.append(kw))
    env.create_local_runner().run(2, 50, 0.8)
    assert errors == []  # flow control, not errors
    assert 2 <= len(stamps["wait"]) <= 4
    assert len(stamps["now"]) >= 10


def test_user_on_start_runs_before_its_tasks_and_on_stop_once_at_the_end():
    log = []

    class Lifecycle(User):
        wait_time = constant(0.05)

        def on_start(self):
            log.append(("start", id(self)))

        @task
        def work(self):
            log.append(("task", id(self)))

        def on_stop(self):
            log.append(("stop", id(self)))

    def two_tasks_each():
        tasks = Counter(uid for kind, uid in log if kind == "task")
        return len(tasks) == 2 and min(tasks.values()) >= 2

    run_briefly(make_env(Lifecycle), two_tasks_each, users=2, seconds=0.2)
    users = {uid for _, uid in log}
    assert len(users) == 2
    for uid in users:
        mine = [kind for kind, u in log if u == uid]
        assert mine[0] == "start" and mine[-1] == "stop"
        assert mine.count("start") == 1 and mine.count("stop") == 1
        assert mine.count("task") >= 2


def test_stop_user_ends_one_user_and_calls_on_stop():
    log = []

    class Quitter(User):
        wait_time = constant(0.02)

        @task
        def once(self):
            log.append("task")
            raise StopUser()

        def on_stop(self):
            log.append("on_stop")

    env = make_env(Quitter)
    runner = env.create_local_runner()
    runner.start(2, 100, wait=True)
    gevent.sleep(0.2)
    assert runner.user_count == 0
    assert log.count("task") == 2 and log.count("on_stop") == 2
    runner.quit()


def test_what_a_user_starts_belongs_to_its_run_not_to_the_user():
    """A greenlet a user starts lives on when that user stops (StopUser, a ramp down) and ends with
    the run; one started in on_stop, as the run ends, ends with it too."""
    alive = {}

    def work(key):
        alive[key] = True
        while True:
            gevent.sleep(0.01)

    class Brief(User):
        wait_time = constant(0.01)

        @task
        def once(self):
            alive["task"] = gevent.spawn(work, "from-task")
            raise StopUser()

        def on_stop(self):
            alive.setdefault("stoppers", []).append(gevent.spawn(work, "from-on_stop"))

    env = make_env(Brief)
    runner = env.create_local_runner()
    runner.start(1, 100, wait=True)
    try:
        gevent.sleep(0.2)
        assert runner.user_count == 0 and not alive["task"].dead  # the user is gone, its greenlet is the run's
        runner.quit()
        assert alive["task"].dead and all(g.dead for g in alive["stoppers"])
    finally:
        gevent.killall([alive["task"], *alive.get("stoppers", [])])


def test_a_greenlet_a_user_starts_in_its_init_is_its_runs_too():
    started = []

    def keepalive():
        while True:
            gevent.sleep(0.01)

    class Eager(User):
        wait_time = constant(0.05)

        def __init__(self, environment):
            super().__init__(environment)
            started.append(gevent.spawn(keepalive))

        @task
        def idle(self):
            pass

    env = make_env(Eager)
    runner = env.create_local_runner()
    try:
        runner.run(2, 100, 0.2)
        assert len(started) == 2 and all(greenlet.dead for greenlet in started)
    finally:
        gevent.killall(started)


def test_an_exception_in_on_start_is_a_user_error_not_a_crash():
    class BadStart(User):
        wait_time = constant(0.02)

        def on_start(self):
            raise RuntimeError("cannot log in")

        @task
        def work(self):
            pass

    env = make_env(BadStart)
    errors = []
    env.events.user_error.add_listener(lambda exception, **kw: errors.append(exception))
    assert run_until(env, 2, 50, lambda: len(errors) >= 2, min_time=0.2) == 0
    assert len(errors) == 2 and all(isinstance(e, RuntimeError) for e in errors)


def test_context_of_a_user_defaults_to_empty():
    class Plain(User):
        @task
        def t(self):
            pass

    assert Plain(make_env(Plain)).context() == {}


# -- wait times ------------------------------------------------------------------------------------

def test_wait_time_functions():
    between_wait = between(0.1, 0.3)
    values = [between_wait(None) for _ in range(2000)]
    assert min(values) >= 0.1 and max(values) <= 0.3
    assert max(values) - min(values) > 0.15  # really spread over the range

    assert constant(0.25)(None) == 0.25

    class Stamped:
        task_started_at = None

    pacing = constant_pacing(1.0)
    stamped = Stamped()
    assert pacing(stamped) == 1.0  # nothing ran yet: a whole interval
    stamped.task_started_at = time.monotonic() - 0.4
    assert 0.5 < pacing(stamped) <= 0.6 + 1e-6
    stamped.task_started_at = time.monotonic() - 2.0
    assert pacing(stamped) == 0.0  # a task longer than the interval: no wait

    throughput = constant_throughput(4)
    stamped.task_started_at = time.monotonic()
    assert 0.2 < throughput(stamped) <= 0.25

    for bad in (lambda: between(-1, 1), lambda: between(2, 1), lambda: constant(-1),
                lambda: constant_pacing(-1), lambda: constant_throughput(0)):
        with pytest.raises(ValueError):
            bad()


def test_each_wait_time_in_a_real_run():
    starts: dict[str, list[float]] = {}

    def user(name: str, wait, task_seconds: float = 0.0) -> type:
        starts[name] = []

        class Timed(User):
            fixed_count = 1
            wait_time = wait

            @task
            def work(self):
                starts[name].append(time.monotonic())
                if task_seconds:
                    gevent.sleep(task_seconds)

        Timed.__name__ = name
        return Timed

    classes = [
        user("Between", between(0.1, 0.25)),
        user("Constant", constant(0.2)),
        user("Pacing", constant_pacing(0.3), task_seconds=0.2),  # constant(0.3) would give 0.5
        user("Throughput", constant_throughput(4), task_seconds=0.15),  # constant(0.25) would give 0.4
        user("PacingOverrun", constant_pacing(0.1), task_seconds=0.2),  # task longer than the interval
        user("NoWait", None, task_seconds=0.05),
    ]
    env = make_env(*classes)
    env.create_local_runner().run(len(classes), 100, 1.7)

    def gaps(name):
        stamps = starts[name]
        assert len(stamps) >= 4, (name, stamps)
        return [b - a for a, b in zip(stamps, stamps[1:])]

    # Lower bounds hold for every gap (a sleep never ends early); upper bounds are on the
    # median, so one scheduling hiccup on a loaded machine does not fail the test.
    for name, least, most in (
        ("Between", 0.09, 0.35),
        ("Constant", 0.18, 0.32),
        ("Pacing", 0.27, 0.43),  # would be 0.5 if the task's own time were not subtracted
        ("Throughput", 0.22, 0.35),  # would be 0.4
        ("PacingOverrun", 0.19, 0.28),  # would be 0.3: no wait after a task longer than the interval
        ("NoWait", 0.04, 0.15),
    ):
        observed = gaps(name)
        assert min(observed) >= least and median(observed) < most, (name, observed)
    assert max(gaps("Between")) - min(gaps("Between")) > 0.01  # random, not constant


def test_a_task_set_wait_time_overrides_the_users():
    stamps = []

    class Fast(TaskSet):
        wait_time = constant(0.02)

        @task
        def inside(self):
            stamps.append(time.monotonic())

    class Slow(User):
        wait_time = constant(5)
        tasks = [Fast]

    run_briefly(make_env(Slow), lambda: len(stamps) >= 5, seconds=0.1)
    assert len(stamps) >= 5  # a user wait of 5 s would allow one


# -- abstract / concrete -----------------------------------------------------------------------------

def test_abstract_flag_is_not_inherited():
    class Base(User):
        abstract = True

        @task
        def t(self):
            pass

    class Concrete(Base):
        pass

    assert not is_concrete_user_class(Base)
    assert is_concrete_user_class(Concrete)
    assert not is_concrete_user_class(User) and not is_concrete_user_class(HttpUser)


# -- bad input: clear errors before any traffic -------------------------------------------------------

class Requesting(HttpUser):
    abstract = True
    wait_time = constant(0.05)

    @task
    def get(self):
        self.client.get("/")


def assert_rejected_before_traffic(env, start, match: str) -> str:
    seen = []
    env.events.request.add_listener(lambda **kw: seen.append(kw))
    started = []
    env.events.test_start.add_listener(lambda **kw: started.append(kw))
    runner = env.runner or env.create_local_runner()
    with pytest.raises(ConfigurationError, match=match) as info:
        start(runner)
    message = str(info.value)
    assert "\n" not in message and message
    gevent.sleep(0.1)
    assert seen == [] and started == [] and runner.state == STATE_INIT and runner.user_count == 0
    return message


def test_a_user_with_no_tasks_is_rejected():
    class NoTasks(User):
        pass

    message = assert_rejected_before_traffic(make_env(NoTasks), lambda r: r.start(1, 1), "no tasks")
    assert "NoTasks" in message


def test_a_nested_task_set_with_no_tasks_is_rejected():
    class Empty(TaskSet):
        pass

    class Middle(TaskSet):
        tasks = [Empty]

    class Nesting(User):
        tasks = [Middle]

    message = assert_rejected_before_traffic(make_env(Nesting), lambda r: r.start(1, 1), "has no tasks")
    assert "Empty" in message and "Nesting" in message


def test_no_user_classes_is_rejected():
    assert_rejected_before_traffic(make_env(), lambda r: r.start(1, 1), "no User classes")


@pytest.mark.parametrize(("host", "why"), [
    ("not a url", "is not a URL"), ("127.0.0.1:8080", "is not a URL"), ("localhost", "is not a URL"),
    ("ftp://127.0.0.1/", "the scheme 'ftp' is not http or https"), ("http://", "is not a URL"),
])
def test_an_environment_host_that_is_not_a_url_is_rejected(host, why):
    with pytest.raises(ConfigurationError, match=why) as info:
        make_env(Requesting, host=host)
    assert "\n" not in str(info.value)


def test_a_user_class_host_that_is_not_a_url_is_rejected(target):
    class BadHost(Requesting):
        host = "127.0.0.1:8080"

    message = assert_rejected_before_traffic(make_env(BadHost), lambda r: r.start(1, 1), "is not a URL")
    assert "127.0.0.1:8080" in message


def test_an_http_user_without_any_host_is_rejected():
    assert_rejected_before_traffic(make_env(Requesting), lambda r: r.start(1, 1), "has no host")


@pytest.mark.parametrize(
    "users, rate, match",
    [(-1, 1, "user count"), (1.5, 1, "user count"), ("3", 1, "user count"),
     (1, 0, "spawn rate"), (1, -2, "spawn rate"), (1, "fast", "spawn rate")],
)
def test_bad_user_counts_and_spawn_rates_are_rejected(target, users, rate, match):
    env = make_env(Requesting, host=target)
    assert_rejected_before_traffic(env, lambda r: r.start(users, rate), match)


def test_bad_counts_are_rejected_by_run_too(target):
    env = make_env(Requesting, host=target)
    assert_rejected_before_traffic(env, lambda r: r.run(-5, 1, 1), "user count")


def test_a_negative_stop_timeout_is_rejected():
    with pytest.raises(ConfigurationError, match="stop timeout"):
        make_env(Requesting, stop_timeout=-1)


def test_bad_task_weights_are_rejected():
    with pytest.raises(ValueError):
        task(-1)(lambda user: None)
    with pytest.raises(ValueError):
        class Bad(User):  # noqa: F841
            tasks = {lambda u: None: -2}
    with pytest.raises(ValueError):
        class AlsoBad(User):  # noqa: F841
            tasks = ["not callable"]


# -- the task loop's interface between User and TaskSet ---------------------------------------------

def test_the_task_loop_pauses_and_stops_the_user_it_belongs_to():
    from pytest_loadhooks.user.task import STATE_RUNNING, STATE_STOPPING, STATE_WAITING, TaskLoop

    loop = TaskLoop()
    assert loop.state == STATE_RUNNING
    states = []
    waiter = gevent.spawn(loop.pause, 0.05)
    gevent.sleep(0.01)
    states.append(loop.state)
    waiter.join()
    assert states == [STATE_WAITING] and loop.state == STATE_RUNNING
    loop.state = STATE_STOPPING
    with pytest.raises(StopUser):
        loop.check_stop()
    with pytest.raises(StopUser):
        loop.pause(10)  # a stopped user never starts a pause


def test_tasks_stamp_when_they_began_on_the_set_and_on_the_user():
    stamps = []

    class Inner(TaskSet):
        @task
        def inner(self):
            stamps.append((self.task_started_at, self.user.task_started_at))
            # reschedule=False: the user waits (yields) before its next task. With Locust's default the
            # user picks the next one at once, never yields, and the test's own sleep never returns.
            self.interrupt(reschedule=False)

    class Stamped(User):
        wait_time = constant(0)
        tasks = [Inner]

    env = make_env(Stamped)
    user = Stamped(env)
    assert user.task_started_at is None
    greenlet = gevent.spawn(user.run)
    gevent.sleep(0.02)
    greenlet.kill()
    assert stamps and all(own == users for own, users in stamps)
