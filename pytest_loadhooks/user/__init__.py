"""Users and their tasks."""

from .task import SequentialTaskSet, TaskSet, tag, task
from .users import HttpUser, User

__all__ = ["User", "HttpUser", "TaskSet", "SequentialTaskSet", "task", "tag"]
