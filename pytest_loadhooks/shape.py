"""Load test shapes: a ``tick()`` that says how many users to run at each moment."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .runners import Runner



class RateTick(NamedTuple):
    """What a shape's ``tick()`` returns to drive an open-model run: start ``rate`` iterations per
    second (from a pool of at most ``max_users`` users; None: ``--load-max-users``). A dict with a
    ``rate`` key (and optionally ``max_users``) says the same. See docs/open-model.md."""

    rate: float
    max_users: int | None = None


ShapeTick = tuple[int, float] | tuple[int, float, list[type]] | RateTick | dict[str, Any] | None


class LoadTestShape:
    """Subclass and implement :meth:`tick`; returning None ends the run.

    ``tick()`` returns ``(user_count, spawn_rate)`` or ``(user_count, spawn_rate, user_classes)``; for an
    open-model run, ``RateTick(rate)`` (or ``{"rate": rate}``): iterations per second.
    """

    abstract = True
    runner: Runner | None = None
    use_common_options = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False

    def __init__(self) -> None:
        self.start_time = time.monotonic()

    def reset_time(self) -> None:
        self.start_time = time.monotonic()

    def get_run_time(self) -> float:
        return time.monotonic() - self.start_time

    def get_current_user_count(self) -> int:
        return self.runner.user_count if self.runner is not None else 0

    def tick(self) -> ShapeTick:
        raise NotImplementedError(f"{type(self).__name__}.tick() must return (users, spawn_rate) or None")
