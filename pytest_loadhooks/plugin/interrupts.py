"""Signals while a load run goes: Ctrl-C and SIGTERM end it properly, a timeout ends it errored.

Left alone, Ctrl-C raises KeyboardInterrupt wherever the main thread happens to be, which
under gevent is usually some user's greenlet: that user dies, gevent prints a traceback and
the run loses its results. SIGTERM kills the process before any output is written. While a
run goes, :class:`RunSignals` handles both: the first signal asks the runner to stop (users
within the stop timeout, the stop events fire), the run keeps what it measured and is marked
interrupted, and pytest is then interrupted as by Ctrl-C. A second signal exits at once.

A SIGALRM handler already installed (pytest-timeout's ``signal`` method) is wrapped for the
same reason: the exception it raises would land in whichever greenlet runs. Caught here, it
aborts the run (errored, saying why), and the caller raises it again where the run was
started once the users are stopped. Landing in a user's task it is raised there as well:
that is the only way to end a task that never yields, and the user reports it.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import gevent

from ..runners.base import describe, kill_timeout

INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunSignals:
    """Installed around one run (a context manager), in the main thread; elsewhere it does nothing."""

    def __init__(self, runner: Any, stop_timeout: float) -> None:
        self.runner = runner
        # After a timeout: how long the run may take to stop before the alarm is raised again
        # in whatever greenlet keeps it from stopping (a task that never yields).
        self.grace = float(stop_timeout) + kill_timeout(stop_timeout) + 1.0
        self.interrupted_by: str | None = None
        self.forced = False
        self.abort_error: BaseException | None = None
        self._previous: dict[int, Any] = {}
        self._main: Any = None
        self._armed = False

    # -- installing --
    def __enter__(self) -> RunSignals:
        self._main = gevent.getcurrent()
        try:
            for signum in INTERRUPTING_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_interrupt)
        except ValueError:  # not the main thread: signals cannot be handled here
            return self
        alarm = signal.getsignal(signal.SIGALRM)
        if callable(alarm):
            self._previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_alarm)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in self._previous.items():
            # None: a handler installed outside Python; the default is the closest we can restore.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    # -- handlers (they run between any two bytecodes, in whichever greenlet is current) --
    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.interrupted_by is None:
            self.interrupted_by = name
            self.runner.interrupt(name)
            return
        self.forced = True
        error = KeyboardInterrupt(f"{name} again while the load run was stopping: exiting at once")
        if gevent.getcurrent() is self._main:
            raise error
        # Straight into the greenlet that started the run: raised in a user, it would only end that user.
        self._main.throw(error)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        current = gevent.getcurrent()
        if self.abort_error is not None:
            # An alarm of ours: the run has not stopped since the timeout. Whatever greenlet runs
            # now is what keeps it from stopping.
            self._arm()
            if current is not self._main and current is not gevent.get_hub():
                raise self.abort_error
            return
        try:
            self._previous[signal.SIGALRM](signum, frame)
        except BaseException as error:  # noqa: BLE001 - pytest's Failed is a BaseException
            self.abort_error = error
        else:
            return  # the handler chose not to raise (pytest-timeout does so under a debugger)
        self._arm()
        if current in self.runner.user_greenlets:
            raise self.abort_error  # ends this user's task; the user reports it and the run ends
        self.runner.abort(describe(self.abort_error))

    def _arm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, self.grace)
        self._armed = True


def stop_at_once(runner: Any) -> None:
    """End a run without waiting for anyone: a second Ctrl-C."""
    runner.user_greenlets.kill(block=False)
    runner.greenlet.kill(block=False)
    if runner.interrupted is None:
        runner.interrupted = "KeyboardInterrupt"
