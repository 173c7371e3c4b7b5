"""Exceptions that steer users and task sets, and the errors the engine reports."""


class LocustError(Exception):
    """Locust's base of its own errors: what a locustfile catches to catch them all."""


class LoadHooksError(LocustError):
    """Base of the errors pytest-loadhooks raises itself."""


class ConfigurationError(LoadHooksError, ValueError):
    """Bad input to a run (users, host, options): raised before any traffic is sent."""


class MissingWaitTimeError(ConfigurationError):
    pass


class StopUser(Exception):
    """Raised in a task to stop the current user for good."""


class RescheduleTask(Exception):
    """Raised in a task to end it and let the user wait, then pick another task."""


class RescheduleTaskImmediately(Exception):
    """Raised in a task to end it and pick another task without waiting."""


class InterruptTaskSet(Exception):
    """Raised in a TaskSet to hand control back to its parent."""

    def __init__(self, reschedule: bool = True) -> None:
        super().__init__(reschedule)
        self.reschedule = reschedule


class CatchResponseError(Exception):
    """The failure recorded when a catch_response block calls ``failure(msg)``."""


class ResponseError(Exception):
    """The failure recorded for an HTTP status outside 2xx/3xx."""


FLOW_CONTROL_EXCEPTIONS = (StopUser, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)
