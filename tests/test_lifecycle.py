"""The run lifecycle (plugin/lifecycle.py): the order its moments visit a run's participants."""

from __future__ import annotations

from typing import Any

from pytest_loadhooks import User, constant, task
from pytest_loadhooks.plugin import lifecycle
from pytest_loadhooks.plugin.run import LoadRun, RunSettings


class Recorder(lifecycle.Participant):
    """Writes down each moment it is called at, with its name; answers what it is given to."""

    def __init__(self, name: str, log: list[str], answers: dict[str, Any] | None = None) -> None:
        self.name, self.log, self.answers = name, log, answers or {}


def _recording(moment: str) -> Any:
    def record(self: Recorder, *args: Any) -> Any:
        self.log.append(f"{moment}:{self.name}")
        return self.answers.get(moment)

    return record


for _moment in lifecycle.MOMENTS:
    setattr(Recorder, _moment, _recording(_moment))


def test_moments_before_the_traffic_go_in_order_and_after_it_in_reverse():
    log: list[str] = []
    participants = [Recorder("a", log), Recorder("b", log)]
    lifecycle.notify(participants, "started", None, None)
    lifecycle.notify(participants, "judge", None, None)
    assert log == ["started:a", "started:b", "judge:b", "judge:a"]


def test_a_first_answer_stops_the_asking():
    log: list[str] = []
    participants = [Recorder("a", log), Recorder("b", log, {"drive": 0}), Recorder("c", log, {"drive": 1})]
    assert lifecycle.first_answer(participants, "drive", None, None) == 0  # an exit code of 0 is an answer
    assert log == ["drive:a", "drive:b"]
    assert lifecycle.first_answer(participants[:1], "drive", None, None) is None


def test_a_local_run_calls_each_moment_once_in_its_order():
    class Idle(User):  # defined here: at module level the plugin would collect it as a load run
        wait_time = constant(0.01)

        @task
        def nothing(self) -> None:
            pass

    log: list[str] = []
    settings = RunSettings(users=1, spawn_rate=1, run_time=0.2, host=None, tags=None, exclude_tags=None,
                           stop_timeout=0.0)
    run = LoadRun("lifecycle", settings, user_classes=[Idle], participants=[Recorder("a", log), Recorder("b", log)])
    result = run.execute()
    assert result is run.result and result.num_requests == result.stats.total.num_requests == 0
    expected = [f"{moment}:{name}" for moment in lifecycle.MOMENTS
                for name in ("ba" if moment in lifecycle.AFTER_THE_TRAFFIC else "ab")]
    assert log == expected


def test_the_moments_are_the_participants_methods():
    methods = {name for name in vars(lifecycle.Participant) if not name.startswith("_")}
    assert methods == set(lifecycle.MOMENTS) == {name for name in vars(lifecycle.RunParticipant)
                                                 if not name.startswith("_")}
