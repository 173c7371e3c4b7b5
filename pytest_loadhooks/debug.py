"""Run one user in this process, for debugging (Locust's ``locust.debug``).

Locustfiles end with ``if __name__ == "__main__": run_single_user(MyUser)`` so that
``python locustfile.py`` (or a debugger) runs a single user and prints every request.
Importing this module costs nothing and does nothing: gevent, the engine and the
clients are imported only when :func:`run_single_user` is called.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .env import Environment
    from .user.users import User

HOST_VARIABLE = "LOADHOOKS_HOST"

_env: Environment | None = None
"""The Environment single-user runs share (made by the first call, as Locust's is)."""


class PrintListener:
    """Prints one tab-separated line per request (the ``request`` event) to stdout."""

    def __init__(self, env: Environment, include_length: bool = False, include_time: bool = False,
                 include_context: bool = False, include_payload: bool = False) -> None:
        self.include_length = include_length
        self.include_time = include_time
        self.include_context = include_context
        self.include_payload = include_payload
        env.events.request.add_listener(self.on_request)
        print(self._line(["time".ljust(32)] if include_time else [], "type", "name".ljust(50), "resp_ms",
                         ["length"] if include_length else [], "exception",
                         ["context"] if include_context else [], ["payload"] if include_payload else []))

    @staticmethod
    def _line(time_column: list[str], request_type: str, name: str, response_time: str, length: list[str],
              error: str, context: list[str], payload: list[str]) -> str:
        return "\t".join([*time_column, request_type, name, response_time, *length, error, *context, *payload])

    def on_request(self, request_type: str, name: str, response_time: float | None, response_length: int,
                   exception: BaseException | None = None, context: dict | None = None,
                   start_time: float | None = None, response: Any = None, **_kwargs: Any) -> None:
        when = datetime.fromtimestamp(start_time, tz=timezone.utc) if start_time else datetime.now(timezone.utc)
        print(self._line(
            [str(when).ljust(32)] if self.include_time else [],
            str(request_type), str(name or "").ljust(50),
            str(round(response_time if response_time is not None else -1)).ljust(7),
            [str(response_length)] if self.include_length else [],
            _describe(exception).ljust(9),
            [str(context or "")] if self.include_context else [],
            [_payload_of(response)] if self.include_payload else [],
        ), flush=True)


def _describe(exception: BaseException | None) -> str:
    if exception is None:
        return ""
    from .exception import CatchResponseError

    # A catch_response failure's message is what the user wrote; anything else shows its type too.
    text = str(exception) if isinstance(exception, CatchResponseError) else repr(exception)
    return text[:500].replace("\n", " ")


def _payload_of(response: Any) -> str:
    request = getattr(response, "request", None)
    body = getattr(request, "body", None)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return "" if body is None else str(body)


def host_from_command_line(argv: list[str] | None = None) -> str | None:
    """The host given to ``python locustfile.py``: ``--load-host``, ``--host`` or ``-H``
    (the last one wins), else the ``LOADHOOKS_HOST`` environment variable. Other arguments
    are left alone: the script may have its own."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--load-host", "--host", "-H", dest="host")
    options, _rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return options.host or os.environ.get(HOST_VARIABLE) or None


def run_single_user(
    user_class: type[User],
    include_length: bool = False,
    include_time: bool = False,
    include_context: bool = False,
    include_payload: bool = False,
    loglevel: str | None = "WARNING",
) -> None:
    """Run one ``user_class`` user in this process until it stops, printing every request.

    As Locust's: the first call makes an Environment on the global ``events`` (the host
    comes from ``--load-host``/``--host``/``-H`` or ``LOADHOOKS_HOST``, else the class's
    own), starts printing requests and fires ``init``; each call fires ``test_start``
    and runs the user. Logging is set up at ``loglevel`` (``None`` leaves it alone);
    WARNING by default, so log lines do not drown the printed requests.

    Unlike Locust's, the user runs under a real LocalRunner: ``environment.runner.quit()``
    in a task ends it, uncaught task errors are logged, and ``test_stopping`` /
    ``test_stop`` fire when it ends (by itself, through the runner, or on Ctrl-C).
    Returns when the user has stopped; on Ctrl-C the user is stopped, the stop events fire
    and the KeyboardInterrupt goes on to the caller.
    """
    global _env
    from .log import setup_logging

    if loglevel:
        setup_logging(loglevel)
    if _env is None:
        _env = _debug_environment(include_length, include_time, include_context, include_payload)
    env = _env
    env.user_classes = [user_class]
    env.available_user_classes = {user_class.__name__: user_class}
    env.validate_user_classes()
    _run_one_user(env, user_class)


def _debug_environment(include_length: bool, include_time: bool, include_context: bool,
                       include_payload: bool) -> Environment:
    from .env import Environment
    from .event import events

    env = Environment(events=events, host=host_from_command_line())
    env.create_local_runner()
    PrintListener(env, include_length=include_length, include_time=include_time,
                  include_context=include_context, include_payload=include_payload)
    env.fire_init()
    return env


def _run_one_user(env: Environment, user_class: type[User]) -> None:
    runner = env.runner
    try:
        user = runner.start_single_user(user_class)  # fresh stats, the runner's loops, test_start
        env.single_user_instance = user  # Locust's name, for code that wants the instance
        user.greenlet.join()  # ends when the user stops itself, or runner.quit() stops it
    except KeyboardInterrupt:
        print("interrupted: stopping the user", file=sys.stderr)
        raise  # after the finally below: the caller (and the exit status) see the interrupt, as in Locust
    finally:
        runner.quit()  # stops the user if it still runs, fires test_stopping / test_stop


__all__ = ["PrintListener", "host_from_command_line", "run_single_user"]
