"""Custom arguments added by ``init_command_line_parser`` listeners, as real pytest options.

Listeners call Locust's ``parser.add_argument(...)`` (with its extras ``env_var=``,
``include_in_web_ui=``, ``is_secret=``, ``choices=``). Each argument becomes a pytest
option and ini key when the listener runs before pytest parses the command line (a
plugin or an initial conftest); later listeners (in test modules) still get their
environment variable, ini key (read from the ini file directly) and default.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .options import GROUP, parse_bool
from .pytest_compat import ini_values


@dataclass
class CustomArgument:
    dest: str
    flags: tuple[str, ...]
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[Any, ...] | None = None
    help: str | None = None
    env_var: str | None = None
    include_in_web_ui: bool = True
    is_secret: bool = False
    action: str | None = None
    registered_as_option: bool = False

    def convert(self, raw: Any, source: str) -> Any:
        value = raw
        if self.action in ("store_true", "store_false"):
            if isinstance(raw, str):
                try:
                    value = parse_bool(raw)
                except ValueError:
                    raise ValueError(f"{source}: invalid boolean {self.shown(raw)} for {self.flags[0]}: "
                                     "use 1/0, true/false, yes/no or on/off") from None
        elif isinstance(raw, str):
            value = self.typed(raw, source)
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"{source}: invalid choice {self.shown(value)} for {self.flags[0]} "
                             f"(choose from {allowed})")
        return value

    def typed(self, raw: str, source: str) -> Any:
        """``raw`` through the argument's ``type=`` (as argparse applies it), or a ValueError naming the source."""
        if self.type is None:
            return raw
        try:
            return self.type(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: invalid value {self.shown(raw)} for {self.flags[0]}") from None

    def shown(self, value: Any) -> str:
        """A value for a message: a secret argument's value is never echoed (messages end up in CI logs)."""
        return "'***' (secret, not shown)" if self.is_secret else repr(value)


@dataclass
class ArgumentRegistry:
    """Every custom argument seen so far, in the order listeners added them."""

    arguments: dict[str, CustomArgument] = field(default_factory=dict)
    called_listeners: set[int] = field(default_factory=set)

    def resolve(self, config: Any) -> argparse.Namespace:
        """Values of all custom arguments: CLI > environment variable > ini > default."""
        values = argparse.Namespace()
        for argument in self.arguments.values():
            setattr(values, argument.dest, self.value_of(config, argument))
        return values

    def value_of(self, config: Any, argument: CustomArgument) -> Any:
        if argument.registered_as_option:
            cli = config.getoption(argument.dest, None)
            if cli is not None:
                return argument.convert(cli, argument.flags[0])
        if argument.env_var and os.environ.get(argument.env_var, "") != "":
            return argument.convert(os.environ[argument.env_var], argument.env_var)
        ini = ini_values(config)
        if argument.dest in ini:
            # Raw, as options.raw_sources reads it: getini would refuse a native TOML value of another type.
            return argument.convert(ini[argument.dest], f"ini {argument.dest}")
        return argument.default

    def described(self, config: Any) -> list[dict[str, Any]]:
        """Arguments with their values, for reports and the web UI (secrets flagged, not hidden here)."""
        return [
            {"name": a.dest, "value": "" if (v := self.value_of(config, a)) is None else str(v),
             "is_secret": a.is_secret, "include_in_web_ui": a.include_in_web_ui,
             "choices": list(a.choices) if a.choices else None, "help": a.help or ""}
            for a in self.arguments.values()
        ]


class ParserShim:
    """What ``init_command_line_parser`` listeners receive: Locust's ``add_argument`` on pytest's parser."""

    def __init__(self, registry: ArgumentRegistry, pytest_parser: Any | None) -> None:
        self._registry = registry
        self._parser = pytest_parser
        self._group = pytest_parser.getgroup(GROUP) if pytest_parser is not None else None

    def add_argument(self, *flags: str, **kwargs: Any) -> CustomArgument:
        long_flags = tuple(flag for flag in flags if flag.startswith("--"))
        if not long_flags:
            raise ValueError(f"custom arguments need a --long name, got {flags!r}")
        dest = kwargs.get("dest") or long_flags[0].lstrip("-").replace("-", "_")
        action = kwargs.get("action")
        default = kwargs.get("default", False if action == "store_true" else True if action == "store_false" else None)
        choices = kwargs.get("choices")
        argument = CustomArgument(
            dest=dest, flags=long_flags, default=default, type=kwargs.get("type"),
            choices=tuple(choices) if choices is not None else None, help=kwargs.get("help"),
            env_var=kwargs.get("env_var"), include_in_web_ui=kwargs.get("include_in_web_ui", True),
            is_secret=kwargs.get("is_secret", False), action=action,
        )
        if isinstance(default, str):
            # As argparse does for string defaults; a bad one is named, its value masked if secret.
            argument.default = argument.typed(default, f"the default of {long_flags[0]}")
        existing = self._registry.arguments.get(dest)
        if existing is not None:
            return existing
        self._registry.arguments[dest] = argument
        if self._group is not None:
            self._register_with_pytest(argument)
        return argument

    def _register_with_pytest(self, argument: CustomArgument) -> None:
        extra = []
        if argument.env_var:
            extra.append(f"env: {argument.env_var}")
        extra.append(f"ini: {argument.dest}")
        if argument.choices:
            extra.append("choices: " + ", ".join(str(c) for c in argument.choices))
        help_text = f"{argument.help or 'custom argument'} [{'; '.join(extra)}]".replace("%", "%%")
        option_kwargs: dict[str, Any] = {"dest": argument.dest, "default": None, "help": help_text}
        if argument.action in ("store_true", "store_false"):
            option_kwargs["action"] = argument.action
            option_kwargs["default"] = None
        else:
            option_kwargs["action"] = "store"
            option_kwargs["metavar"] = argument.dest.upper()
        try:
            self._group.addoption(*argument.flags, **option_kwargs)
            self._parser.addini(argument.dest, help_text, type="string", default=None)
            argument.registered_as_option = True
        except ValueError:
            # The name is taken (another plugin's option): keep env/ini/default resolution only.
            argument.registered_as_option = False

    def add_argument_group(self, *_args: Any, **_kwargs: Any) -> ParserShim:
        return self

    def set_defaults(self, **defaults: Any) -> None:
        for dest, value in defaults.items():
            if dest in self._registry.arguments:
                self._registry.arguments[dest].default = value


def fire_new_listeners(registry: ArgumentRegistry, pytest_parser: Any | None) -> None:
    """Call ``init_command_line_parser`` listeners that have not yet been called."""
    event = sys.modules.get("pytest_loadhooks.event")
    if event is None:
        # A listener is added through the events module, so none exists until something imported it.
        # Most plain sessions never do; importing it for them would import gevent too (~20 ms a session).
        return
    shim = ParserShim(registry, pytest_parser)
    for listener in event.events.init_command_line_parser.listeners:
        if id(listener) in registry.called_listeners:
            continue
        registry.called_listeners.add(id(listener))
        try:
            listener(parser=shim)
        except Exception as error:
            name = getattr(listener, "__qualname__", repr(listener))
            raise ValueError(f"init_command_line_parser listener {name} raised {type(error).__name__}: {error}") \
                from error


# -- arguments given on the command line but added too late ----------------------------------------------------------
#
# pytest parses the command line before it imports test modules (and the conftest.py files
# below the paths it was given), so a listener there cannot turn its argument into an option
# in time, and pytest stops at "unrecognized arguments". Which module holds the listener is
# only known once it is imported, which never happens: so the files pytest would collect are
# read (not imported) for a listener that adds the flag.

SKIPPED_DIRECTORIES = {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"}
LARGEST_SOURCE = 1_000_000  # bytes: generated or vendored files, not listeners


def unknown_long_flags(parser: Any, args: list[str]) -> list[str]:
    """``--name`` options among ``args`` that no registered option knows (``--name=value`` -> ``--name``)."""
    _, unknown = parser.parse_known_and_unknown_args(args)
    return list(dict.fromkeys(token.split("=", 1)[0] for token in unknown if token.startswith("--")))


def find_late_listeners(flags: list[str], paths: list[Path], skip_patterns: list[str]) -> dict[str, Path]:
    """For each flag, a Python file under ``paths`` whose ``init_command_line_parser`` listener adds it."""
    found: dict[str, Path] = {}
    patterns = {flag: re.compile(rf"""["']{re.escape(flag)}["']""") for flag in flags}
    for source in _python_files(paths, skip_patterns):
        try:
            if source.stat().st_size > LARGEST_SOURCE:
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "init_command_line_parser" not in text:
            continue
        for flag, pattern in patterns.items():
            if flag not in found and pattern.search(text):
                found[flag] = source
        if len(found) == len(flags):
            break
    return found


def _python_files(paths: list[Path], skip_patterns: list[str]) -> Iterator[Path]:
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            yield path
            continue
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(
                name for name in subdirectories
                if not name.startswith(".") and name not in SKIPPED_DIRECTORIES
                and not any(fnmatch.fnmatch(name, pattern) for pattern in skip_patterns))
            for name in sorted(files):
                if name.endswith(".py"):
                    yield Path(directory, name)


def late_listener_message(found: dict[str, Path], invocation_dir: Path) -> str:
    """One line: which flags, where their listener is, why pytest does not know them, where to move it."""
    flags = ", ".join(found)
    places = ", ".join(dict.fromkeys(_shown(path, invocation_dir) for path in found.values()))
    return (f"pytest-loadhooks: {flags} {'is' if len(found) == 1 else 'are'} added by an init_command_line_parser "
            f"listener in {places}, but pytest parses the command line before it imports test modules (and "
            "conftest.py files below the paths given): move that listener to the conftest.py at the top of your "
            "tests, or to a plugin (left where it is, its argument can be set only through its env_var or ini key)")


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
