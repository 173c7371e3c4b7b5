"""Locust drop-in compatibility of the engine (issue #8): the run's host overriding class
hosts, run_single_user, MarkovTaskSet, events.request.measure, listeners that remove
themselves while their event fires, LocalRunner messages and counters, the arguments of
spawning_complete and user_error in edge cases, constant_pacing on a TaskSet, and
log.setup_logging.

Users run as greenlets in this process (the root conftest patched gevent) against the
real target of tests/conftest.py; run_single_user runs in a subprocess, as a script.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import gevent
import pytest

from engine_support import make_env, run_until, wait_for
from pytest_loadhooks import (
    ConfigurationError, Events, FastHttpUser, HttpUser, MarkovTaskSet, StopUser, TaskSet, User, constant,
    constant_pacing, tag, task, transition, transitions,
)
from pytest_loadhooks.user.markov_taskset import (
    InvalidTransitionError, MarkovTaskTagError, NoMarkovTasksError, NonMarkovTaskTransitionError,
)

ROOT = Path(__file__).resolve().parent.parent
UNUSED_PORT_HOST = "http://127.0.0.1:9"  # the discard port: nothing of ours listens there


# -- 1. the run's host overrides every class host --------------------------------------------------

@pytest.mark.parametrize("base", [HttpUser, FastHttpUser], ids=["HttpUser", "FastHttpUser"])
def test_the_run_host_overrides_the_class_host_without_changing_the_class(target, base):
    class Shop(base):
        host = UNUSED_PORT_HOST  # as Locust's examples: a class host, pointed elsewhere with -H
        wait_time = constant(0.01)

        @task
        def page(self):
            self.client.get("/page")

    env = make_env(Shop, host=target)
    env.validate_user_classes()
    run_until(env, 2, 50, lambda: env.stats.total.num_requests >= 6)

    assert env.stats.total.num_requests >= 6 and env.stats.total.num_failures == 0
    assert Shop.host == UNUSED_PORT_HOST  # the class is untouched: other runs see its own host
    assert env.host_for(Shop) == target


def test_without_a_run_host_the_class_host_is_used_and_runs_do_not_leak(target):
    class Shop(HttpUser):
        host = target
        wait_time = constant(0.01)

        @task
        def page(self):
            self.client.get("/page")

    overridden = make_env(Shop, host=UNUSED_PORT_HOST)
    assert overridden.host_for(Shop) == UNUSED_PORT_HOST
    assert Shop(overridden).host == UNUSED_PORT_HOST

    own = make_env(Shop)  # a later, isolated run without a host: the class's host again
    run_until(own, 1, 10, lambda: own.stats.total.num_requests >= 3)
    assert own.stats.total.num_failures == 0
    assert Shop(own).host == target


def test_host_validation_checks_the_host_that_will_be_used(target):
    class BadClassHost(HttpUser):
        host = "not a url"

        @task
        def page(self):
            pass

    make_env(BadClassHost, host=target).validate_user_classes()  # overridden: never used
    with pytest.raises(ConfigurationError, match="not a URL"):
        make_env(BadClassHost).validate_user_classes()

    class NoHost(HttpUser):
        @task
        def page(self):
            pass

    make_env(NoHost, host=target).validate_user_classes()
    with pytest.raises(ConfigurationError, match="NoHost has no host"):
        make_env(NoHost).validate_user_classes()


# -- 2. run_single_user -----------------------------------------------------------------------------

SINGLE_USER_SCRIPT = '''
from pytest_loadhooks import HttpUser, constant, events, run_single_user, task
from pytest_loadhooks.exception import StopUser

@events.init.add_listener
def on_init(environment, runner, **kwargs):
    print("init", type(runner).__name__)

@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    print("test_start", environment.host)

@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    print("test_stop", environment.stats.total.num_requests, environment.stats.total.num_failures)

class Shopper(HttpUser):
    host = "http://127.0.0.1:9"  # replaced by the host on the command line
    wait_time = constant(0)
    rounds = 0

    @task
    def shop(self):
        self.client.get("/page")
        self.client.get("/status/500", name="broken")
        Shopper.rounds += 1
        if Shopper.rounds == 3:
            STOP

if __name__ == "__main__":
    run_single_user(Shopper, include_length=True)
    print("returned after", Shopper.rounds, "rounds")
'''


def run_script(tmp_path: Path, source: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "locustfile.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("stop", ["raise StopUser()", "self.environment.runner.quit()"],
                         ids=["StopUser", "runner.quit"])
def test_run_single_user_runs_one_user_until_it_stops_printing_each_request(tmp_path, target, stop):
    result = run_script(tmp_path, SINGLE_USER_SCRIPT.replace("STOP", stop), "--host", target)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["type", "name".ljust(50), "resp_ms", "length"]
    assert lines[1] == "init LocalRunner"
    assert lines[2] == f"test_start {target}"
    requests = [line.split("\t") for line in lines[3:-2]]
    assert [(r[0], r[1].strip()) for r in requests] == [("GET", "/page"), ("GET", "broken")] * 3
    assert all(r[4].strip() == "" for r in requests[::2])  # /page succeeded
    assert all("500" in r[4] for r in requests[1::2])  # the failure is shown on its line
    assert lines[-2] == "test_stop 6 3"
    assert lines[-1] == "returned after 3 rounds"


def test_ctrl_c_stops_the_single_user_fires_test_stop_and_reaches_the_caller(tmp_path, target):
    script = tmp_path / "locustfile.py"
    script.write_text(textwrap.dedent(SINGLE_USER_SCRIPT.replace("STOP", "pass")))  # never stops by itself
    process = subprocess.Popen(
        [sys.executable, str(script), "--host", target], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=tmp_path,
        # A child of a non-interactive shell may inherit an ignored SIGINT: give it Python's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for line in process.stdout:
            if line.startswith("GET"):  # the user is running
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode != 0  # interrupted, and the exit status says so
    assert "interrupted: stopping the user" in err and "KeyboardInterrupt" in err
    assert any(line.startswith("test_stop ") for line in out.splitlines())
    assert "returned after" not in out  # the interrupt went on to the caller, as in Locust


def test_run_single_user_takes_the_host_from_the_environment_variable(tmp_path, target):
    result = run_script(tmp_path, SINGLE_USER_SCRIPT.replace("STOP", "raise StopUser()"),
                        env={"LOADHOOKS_HOST": target})
    assert result.returncode == 0, result.stderr
    assert f"test_start {target}" in result.stdout.splitlines()


def test_importing_run_single_user_is_cheap_and_has_no_side_effects(tmp_path):
    probe = (
        "import sys\n"
        "from pytest_loadhooks import run_single_user\n"
        "from pytest_loadhooks.debug import run_single_user as same\n"
        "assert same is run_single_user\n"
        "heavy = [m for m in ('gevent', 'requests', 'geventhttpclient', 'pytest_loadhooks.env', "
        "'pytest_loadhooks.runners') if m in sys.modules]\n"
        "import logging\n"
        "print(heavy, logging.getLogger().handlers)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


# -- 3. MarkovTaskSet ----------------------------------------------------------------------------------

def test_a_markov_task_set_follows_its_transitions_from_its_first_task():
    visits = []

    class Journey(MarkovTaskSet):
        @transition("browse")
        def home(self):
            visits.append("home")

        @transitions({"browse": 1, "cart": 3})
        def browse(self):
            visits.append("browse")

        @transitions([("home", 1), "checkout"])
        def cart(self):
            visits.append("cart")

        @transition("home")
        def checkout(self):
            visits.append("checkout")

    class Shopper(User):
        tasks = [Journey]
        wait_time = constant(0)

    allowed = {"home": {"browse"}, "browse": {"browse", "cart"}, "cart": {"home", "checkout"}, "checkout": {"home"}}
    env = make_env(Shopper)
    env.validate_user_classes()
    run_until(env, 1, 10, lambda: len(visits) >= 400)

    assert visits[0] == "home"
    steps = Counter(zip(visits, visits[1:]))
    assert all(b in allowed[a] for a, b in steps)
    assert set(visits) == set(allowed)
    assert steps["browse", "cart"] > steps["browse", "browse"]  # weight 3 against 1


def test_markov_chains_are_checked_when_the_class_is_created():
    with pytest.raises(NoMarkovTasksError, match="Empty has no Markov tasks"):
        class Empty(MarkovTaskSet):
            @task
            def plain(self):
                pass

    with pytest.raises(InvalidTransitionError, match="transition to 'nowhere'"):
        class Typo(MarkovTaskSet):
            @transition("nowhere")
            def start(self):
                pass

    with pytest.raises(NonMarkovTaskTransitionError, match="'plain', which has no transitions"):
        class DeadEnd(MarkovTaskSet):
            @transition("plain")
            def start(self):
                pass

            def plain(self):
                pass

    with pytest.raises(InvalidTransitionError, match="dead end"):
        class ZeroWeights(MarkovTaskSet):
            @transition("start", weight=0)
            def start(self):
                pass

    with pytest.raises(MarkovTaskTagError, match="tags are not supported"):
        class Tagged(MarkovTaskSet):
            @tag("slow")
            @transition("start")
            def start(self):
                pass

    class Base(MarkovTaskSet):  # abstract: a base to subclass, not checked
        abstract = True

    assert issubclass(Base, MarkovTaskSet)


def test_an_unreachable_markov_task_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        class Island(MarkovTaskSet):
            @transition("start")
            def start(self):
                pass

            @transition("start")
            def never(self):
                pass

    assert "never" in caplog.text and "can never run" in caplog.text


# -- 4. events.request.measure -------------------------------------------------------------------------

def test_measure_times_the_block_and_fires_request_with_its_outcome():
    events = Events()
    seen = []
    events.request.add_listener(lambda **kwargs: seen.append(kwargs))

    with events.request.measure("RPC", "login", context={"who": "alice"}) as meta:
        gevent.sleep(0.05)
        meta["response_length"] = 42
    after_failure = []
    with events.request.measure("RPC", "logout"):
        raise ConnectionError("server went away")
    after_failure.append("the block's exception did not propagate (Locust's rule)")

    ok, failed = seen
    assert ok["request_type"] == "RPC" and ok["name"] == "login" and ok["exception"] is None
    assert ok["response_time"] >= 50 and ok["response_length"] == 42 and ok["context"] == {"who": "alice"}
    assert ok["start_time"] <= time.time() and {"response", "url"} <= set(ok)
    assert isinstance(failed["exception"], ConnectionError) and failed["name"] == "logout"
    assert after_failure


def test_measure_counts_in_the_stats_and_lets_stop_user_through():
    class Rpc(User):
        wait_time = constant(0)

        @task
        def call(self):
            with self.environment.events.request.measure("RPC", "ping"):
                pass
            with self.environment.events.request.measure("RPC", "last"):
                raise StopUser()

    env = make_env(Rpc)
    runner = env.create_local_runner()
    runner.start(1, 10)
    wait_for(lambda: env.stats.get("last", "RPC").num_failures == 1 and runner.user_count == 0)
    runner.quit()
    assert env.stats.get("ping", "RPC").num_requests == 1  # the user stopped: no second round
    assert env.stats.get("ping", "RPC").num_failures == 0


# -- 5. listeners that change the listener list while the event fires --------------------------------

def test_a_listener_removing_itself_does_not_make_the_next_one_be_skipped():
    events = Events()
    calls = []

    def once(**kwargs):
        calls.append("once")
        events.spawning_complete.remove_listener(once)

    def removes_the_last(**kwargs):
        calls.append("removes_the_last")
        events.spawning_complete.remove_listener(last)

    def last(**kwargs):
        calls.append("last")

    def adds_a_new_one(**kwargs):
        events.spawning_complete.add_listener(lambda **kw: calls.append("new"))

    for listener in (once, removes_the_last, last, adds_a_new_one):
        events.spawning_complete.add_listener(listener)

    events.spawning_complete.fire(user_count=1)
    assert calls == ["once", "removes_the_last", "last"]  # every listener of this firing ran
    calls.clear()
    events.spawning_complete.fire(user_count=1)
    assert calls == ["removes_the_last", "new"]  # the changes apply from the next firing on


# -- 6. LocalRunner: custom messages, worker_count, exceptions, class counts --------------------------

def test_custom_messages_loop_back_to_the_local_runner():
    received = []

    class Reporter(User):
        wait_time = constant(0.01)

        @task
        def report(self):
            self.environment.runner.send_message("progress", {"done": len(received) + 1})

    env = make_env(Reporter)
    runner = env.create_local_runner()
    runner.register_message("progress", lambda environment, msg, **kw: received.append((environment, msg)))
    with pytest.raises(ValueError, match="already registered"):
        runner.register_message("progress", print)
    run_until(env, 1, 10, lambda: len(received) >= 3)

    environment, msg = received[0]
    assert environment is env
    assert (msg.type, msg.data, msg.node_id) == ("progress", {"done": 1}, "local")
    assert runner.worker_count == 1


def test_a_local_message_runs_inline_even_for_a_concurrent_listener(caplog):
    # Locust's LocalRunner calls every listener before send_message returns.
    env = make_env()
    runner = env.create_local_runner()
    where = []
    runner.register_message("slow", lambda environment, msg: where.append(gevent.getcurrent()), concurrent=True)
    runner.send_message("slow")
    assert where == [gevent.getcurrent()]
    with caplog.at_level(logging.WARNING):
        runner.send_message("nobody-listens", 1)
    assert "unknown type 'nobody-listens'" in caplog.text


def test_runner_exceptions_and_class_counts_are_locusts():
    class Broken(User):
        wait_time = constant(0.01)

        @task
        def explode(self):
            raise KeyError("missing")

    class Spare(User):
        weight = 0  # never started: still listed, with 0 users
        wait_time = constant(1)

        @task
        def idle(self):
            pass

    env = make_env(Broken, Spare)
    runner = env.create_local_runner()
    run_until(env, 2, 50, lambda: sum(r["count"] for r in runner.exceptions.values()) >= 3)

    assert runner.exceptions is env.stats.exceptions  # one store for listeners and outputs
    [record] = runner.exceptions.values()
    assert record["count"] >= 3 and "missing" in record["msg"] and "KeyError" in record["traceback"]
    assert runner.target_user_classes_count == {"Broken": 2, "Spare": 0}
    assert runner.errors is env.stats.errors
    assert runner.user_classes_by_name == {"Broken": Broken, "Spare": Spare}


# -- 7. spawning_complete and user_error in edge cases -------------------------------------------------

def test_spawning_complete_counts_a_fixed_count_user_that_stopped_itself():
    class OneShot(User):
        fixed_count = 1
        wait_time = constant(0)

        @task
        def once(self):
            raise StopUser()

    class Steady(User):
        wait_time = constant(0.05)

        @task
        def idle(self):
            pass

    env = make_env(OneShot, Steady)
    completed = []
    env.events.spawning_complete.add_listener(lambda user_count, **kw: completed.append(user_count))
    runner = env.create_local_runner()
    runner.start(4, 10)  # OneShot starts first and is gone long before the ramp ends
    wait_for(lambda: completed)
    assert completed == [4]  # Locust reports the users its ramp dispatched
    assert runner.target_user_classes_count == {"OneShot": 1, "Steady": 3}
    assert runner.user_classes_count == {"OneShot": 0, "Steady": 3}
    runner.quit()


def test_user_error_inside_a_task_set_names_the_task_set_as_locust_does():
    class Checkout(TaskSet):
        @task
        def pay(self):
            raise RuntimeError("card declined")

    class Buyer(User):
        tasks = [Checkout]
        wait_time = constant(0.01)

    env = make_env(Buyer)
    errors = []
    env.events.user_error.add_listener(lambda user_instance, exception, tb: errors.append(user_instance))
    run_until(env, 1, 10, lambda: errors)

    assert isinstance(errors[0], Checkout)
    assert isinstance(errors[0].user, Buyer)
    assert "Checkout of <Buyer user>" in repr(errors[0])


# -- 8. constant_pacing on a TaskSet --------------------------------------------------------------------

def test_constant_pacing_on_a_task_set_subtracts_the_tasks_own_time():
    requested = []

    class Paced(TaskSet):
        wait_time = constant_pacing(0.3)

        @task
        def work(self):
            gevent.sleep(0.2)

        def wait_time_seconds(self):
            seconds = super().wait_time_seconds()
            requested.append(seconds)
            return seconds

    class Worker(User):
        tasks = [Paced]

    env = make_env(Worker)
    run_until(env, 1, 10, lambda: len(requested) >= 2)
    # The task took at least 0.2 s of the 0.3 s interval, so at most 0.1 s is left to wait
    # (a pacing that did not see the task's start would wait the full 0.3 s).
    assert all(0 <= seconds <= 0.1 for seconds in requested), requested


# -- 9. log.setup_logging -------------------------------------------------------------------------------

@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    package_level = logging.getLogger("pytest_loadhooks").level
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.getLogger("pytest_loadhooks").setLevel(package_level)


def test_setup_logging_keeps_pytests_log_capture(restore_root_logger, caplog, capsys):
    from pytest_loadhooks.log import get_logs, setup_logging

    pytest_handlers = list(restore_root_logger.handlers)
    assert pytest_handlers  # pytest's capture handlers are on the root logger during a test
    setup_logging("info")
    setup_logging("INFO")  # a second call replaces its own handlers, it does not add more
    assert all(h in restore_root_logger.handlers for h in pytest_handlers)
    assert len(restore_root_logger.handlers) == len(pytest_handlers) + 2

    logging.getLogger("pytest_loadhooks.compat").info("spawning %d users", 3)
    assert "spawning 3 users" in caplog.text  # pytest still captures
    assert "INFO/pytest_loadhooks.compat: spawning 3 users" in capsys.readouterr().err
    assert get_logs()[-1].endswith("INFO/pytest_loadhooks.compat: spawning 3 users")


def test_setup_logging_to_a_file(restore_root_logger, tmp_path, capsys):
    from pytest_loadhooks.log import setup_logging

    logfile = tmp_path / "run.log"
    setup_logging("WARNING", logfile=str(logfile))
    logging.getLogger("some.module").info("too detailed")
    logging.getLogger("some.module").warning("disk almost full")
    for handler in restore_root_logger.handlers:
        handler.flush()
    text = logfile.read_text()
    assert "WARNING/some.module: disk almost full" in text and "too detailed" not in text
    assert "disk almost full" not in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD")


def test_a_concrete_markov_set_runs_a_chain_and_may_have_no_tasks():
    from pytest_loadhooks.user.markov_taskset import runs_a_chain

    class Base(MarkovTaskSet):
        abstract = True

    class Loop(MarkovTaskSet):
        @transition("again")
        def again(self):
            pass

    assert runs_a_chain(Loop) and Loop.tasks == []
    assert not runs_a_chain(Base) and not runs_a_chain(TaskSet) and not runs_a_chain(User)

    class Looping(User):
        host = UNUSED_PORT_HOST
        tasks = [Loop]

    make_env(Looping).validate_user_classes()  # an empty ``tasks`` is no mistake in a Markov set
