"""Users and their tasks (Locust's ``locust.user``)."""

from .sequential_taskset import SequentialTaskSet
from .task import TaskSet, tag, task
from .users import HttpUser, User

__all__ = ["HttpUser", "SequentialTaskSet", "TaskSet", "User", "tag", "task"]
