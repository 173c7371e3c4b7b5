"""The start form (``POST /swarm``): its fields read and checked before anything starts.

A field that does not parse is a :class:`FormError` with a message for the person at the form
(the endpoint answers 400 with it); nothing is started then. The rules are the command line's:
users a whole number >= 0, spawn rate a number > 0, run time like ``30s``/``5m``/``1h30m``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..env import validate_host
from ..exception import ConfigurationError
from ..values import parse_duration, parse_spawn_rate, parse_user_count


class FormError(ValueError):
    """A form field that cannot be used, with a message naming it."""


@dataclass
class FormArgument:
    """A custom argument as the start form shows it (``include_in_web_ui=True`` ones only).

    ``convert(raw, source)`` turns the submitted text into the argument's value (its ``type=``
    and ``choices=``), raising ValueError with a message otherwise.
    """

    name: str
    value: str = ""
    is_secret: bool = False
    choices: Sequence[Any] | None = None
    is_flag: bool = False
    help: str = ""
    convert: Callable[[Any, str], Any] | None = None

    @property
    def kind(self) -> str:
        if self.is_flag:
            return "checkbox"
        if self.choices:
            return "select"
        return "password" if self.is_secret else "text"

    def public(self) -> dict[str, Any]:
        """What a page or JSON may show: a secret's value never."""
        return {"name": self.name, "kind": self.kind, "help": self.help,
                "value": "" if self.is_secret else self.value,
                "choices": [str(c) for c in self.choices] if self.choices else None}


@dataclass
class SwarmRequest:
    """A checked start request: every field given is valid."""

    user_count: int | None = None
    spawn_rate: float | None = None
    host: str | None = None
    run_time: float | None = None
    custom: dict[str, Any] = field(default_factory=dict)


def parse_swarm_form(form: Mapping[str, str], arguments: Sequence[FormArgument]) -> SwarmRequest:
    """The start form's fields, checked (empty fields keep the run's current settings)."""
    request = SwarmRequest()
    users = _given(form, "user_count")
    if users is not None:
        request.user_count = parse_users(users)
    rate = _given(form, "spawn_rate")
    if rate is not None:
        request.spawn_rate = parse_rate(rate)
    host = _given(form, "host")
    if host is not None:
        try:
            validate_host(host)
        except ConfigurationError as error:
            raise FormError(f"Host: {error}") from None
        request.host = host
    run_time = _given(form, "run_time")
    if run_time is not None:
        request.run_time = parse_run_time(run_time)
    for argument in arguments:
        raw = form.get(argument.name)
        if argument.is_flag:
            # An unticked checkbox is not submitted at all: absent means False for a flag.
            raw = "true" if raw not in (None, "", "false", "off", "0") else "false"
        elif raw is None or (argument.is_secret and raw == ""):
            continue  # not in the form, or a secret left blank: keep the value it has
        if argument.convert is not None:
            try:
                request.custom[argument.name] = argument.convert(raw, argument.name)
            except ValueError as error:
                raise FormError(str(error)) from None
        else:
            request.custom[argument.name] = raw
    return request


def _given(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name)
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def parse_users(text: str) -> int:
    # The person at the form is told what is wrong in the form's words; the limits are the shared ones.
    if text.strip().startswith("-"):
        raise FormError(f"Number of users: {text} is negative; give 0 or more")
    if not text.strip().isdigit():
        raise FormError(f"Number of users: '{text}' is not a whole number (0 or more)")
    return _field("Number of users", parse_user_count, text)


def parse_rate(text: str) -> float:
    return _field("Spawn rate", parse_spawn_rate, text)


def parse_run_time(text: str) -> float:
    value = _field("Run time", parse_duration, text)
    if value <= 0:  # a run started from the form must end by itself
        raise FormError(f"Run time: {text} must be more than 0")
    return value


def _field(label: str, parse: Callable[[str], Any], text: str) -> Any:
    """The command line's rule for a setting (pytest_loadhooks.values), its message naming the form field."""
    try:
        return parse(text)
    except ValueError as error:
        raise FormError(f"{label}: {error}") from None
