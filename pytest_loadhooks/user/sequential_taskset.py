"""SequentialTaskSet: tasks run in the order they are declared (Locust's ``locust.user.sequential_taskset``)."""

from __future__ import annotations

from typing import Any

from .task import MissingTasksError, TaskSet, TaskSetMeta, TaskSpec, collect_tasks_in_order


class SequentialTaskSetMeta(TaskSetMeta):
    # Declaration order matters here, and weights repeat a task in place.
    _collect_tasks = staticmethod(collect_tasks_in_order)


class SequentialTaskSet(TaskSet, metaclass=SequentialTaskSetMeta):
    """A TaskSet whose tasks run in the order they are declared, over and over."""

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self._index = 0

    def get_next_task(self) -> TaskSpec:
        if not self.tasks:
            raise MissingTasksError(type(self).__name__)
        spec = self.tasks[self._index % len(self.tasks)]
        self._index += 1
        return spec
