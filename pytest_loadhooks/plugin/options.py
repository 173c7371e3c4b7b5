"""The ``--load-*`` options: each has an ini key and an environment variable, named mechanically.

``--load-run-time`` <-> ini ``load_run_time`` <-> ``LOADHOOKS_RUN_TIME``; the command
line wins over the environment, which wins over the ini file, which wins over the default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..values import is_negative, parse_duration, parse_rate, parse_rate_stages, parse_spawn_rate, parse_user_count
from .pytest_compat import early_options, ini_values
from .web_options import parse_readable_file, parse_web_port

ENV_PREFIX = "LOADHOOKS_"
INI_PREFIX = "load_"
GROUP = "load testing"

BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
                 "off": False}
"""The spellings of a boolean in an environment variable or the ini file (case-insensitive)."""


def parse_ratio(text: Any) -> float:
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"invalid fail ratio '{text}': use a number between 0 and 1, "
                         "or a percentage like 1%") from None
    if not 0 <= value <= 1 or is_negative(value):  # NaN fails the comparison too
        raise ValueError(f"invalid fail ratio '{text}': must be between 0 and 1 (or 0%-100%)")
    return value


def parse_sampling(text: Any) -> float:
    """A sampling ratio: 0-1, or a percentage (``1%``)."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"invalid sampling ratio '{text}': use a number between 0 and 1, "
                         "or a percentage like 1%") from None
    if not 0 <= value <= 1 or is_negative(value):
        raise ValueError(f"invalid sampling ratio '{text}': must be between 0 and 1 (or 0%-100%)")
    return value


def parse_metrics_address(text: Any) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``[v6]:PORT``) for the Prometheus metrics; the host defaults to 127.0.0.1."""
    raw = str(text).strip()
    host, _, port = raw.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    return host, parse_web_port(port)


def parse_bool(text: Any) -> bool:
    """A boolean from an environment variable or the ini file: 1/0, true/false, yes/no, on/off."""
    if isinstance(text, bool):
        return text
    value = BOOLEAN_WORDS.get(str(text).strip().lower())
    if value is None:
        raise ValueError(f"invalid boolean '{text}': use 1/0, true/false, yes/no or on/off")
    return value


def parse_host(text: Any) -> str:
    from ..env import validate_host

    host = str(text).strip()
    try:
        validate_host(host)
    except ValueError as error:
        raise ValueError(str(error)) from None
    return host


def parse_output_file(text: Any) -> str:
    """A file to write after the run: proven writable now, so that a bad path never costs a whole run."""
    path = os.path.expanduser(str(text).strip())  # '~' from an ini file or a variable: no shell expanded it
    check_output_file(path)
    return path


def parse_output_prefix(text: Any) -> str:
    """A prefix to which file names are appended (``--load-csv``): each of its files proven writable now."""
    from ..report.csv_output import csv_paths  # light: no engine, no gevent

    prefix = os.path.expanduser(str(text).strip())
    if not prefix or prefix.endswith(("/", os.sep)) or os.path.isdir(prefix):
        raise ValueError(f"invalid file prefix '{text}': name a file prefix, e.g. results/run "
                         "(it writes results/run_stats.csv, ...)")
    check_directory_creatable(os.path.dirname(prefix) or ".", prefix)
    for path in csv_paths(prefix).values():
        check_output_file(str(path))
    return prefix


def check_output_file(path: str) -> None:
    """Raise ValueError unless ``path`` can be written as a file: not a directory, its directory creatable,
    and the file really opened for writing (:func:`prove_writable`)."""
    if not path or path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise ValueError(f"cannot write '{path}': it is a directory; name a file in it")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"cannot write '{path}': the file is not writable")
    check_directory_creatable(os.path.dirname(path) or ".", path)
    prove_writable(path)


def check_directory_creatable(directory: str, path: str) -> None:
    """The nearest existing ancestor of ``directory`` must be a writable directory (the writer creates the rest)."""
    current = os.path.abspath(directory)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if not os.path.isdir(current):
        raise ValueError(f"cannot write '{path}': {current} is a file, not a directory")
    if not os.access(current, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write '{path}': the directory {current} is not writable")


def prove_writable(path: str) -> None:
    """Open ``path`` for writing for real, and leave things as they were; ValueError naming what failed.

    Permission bits say little (root passes every ``os.access`` check, and ``/proc`` or a read-only
    mount refuse a new file anyway), so the file is opened as the writer will open it. A file
    that exists is opened for appending and closed: its content and times are left alone. One
    that does not is created, with the directories it needs, and removed again with them: a
    session refused later (or interrupted before its end) leaves nothing behind. A pipe is
    opened without waiting for a reader: one that has none is refused rather than hanging.
    """
    created: list[str] = []
    try:
        created = _make_parents(os.path.dirname(path) or ".")
        if os.path.lexists(path):
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NONBLOCK", 0)))
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.remove(path)
    except OSError as error:
        raise ValueError(f"cannot write '{path}': {_reason(error, path)}") from None
    finally:
        _remove_directories(created)


def prove_writable_directory(directory: str) -> None:
    """Create (and remove) a file in ``directory``, making (and removing) the directories it needs;
    ValueError (the reason, e.g. "Permission denied") otherwise."""
    import tempfile

    created: list[str] = []
    try:
        created = _make_parents(directory)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise ValueError(_reason(error, directory)) from None
    finally:
        _remove_directories(created)


def _reason(error: OSError, path: str) -> str:
    """Why an OSError happened, naming the directory that could not be made when it is not ``path``."""
    reason = error.strerror or str(error)
    if isinstance(error.filename, str) and os.path.abspath(error.filename) != os.path.abspath(path):
        return f"cannot create the directory {error.filename}: {reason}"
    return reason


def _make_parents(directory: str) -> list[str]:
    """Create the missing directories of ``directory``; returns them, outermost first (to undo)."""
    missing: list[str] = []
    current = os.path.abspath(directory)
    while not os.path.exists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    made: list[str] = []
    try:
        for name in reversed(missing):
            os.mkdir(name)
            made.append(name)
    except OSError:
        _remove_directories(made)
        raise
    return made


def _remove_directories(made: list[str]) -> None:
    for name in reversed(made):
        try:
            os.rmdir(name)
        except OSError:  # something else wrote there meanwhile: it stays
            pass


def parse_selection(text: Any) -> str:
    """``--load-tests``: an expression in pytest's ``-k`` grammar, checked now (it is matched after collection)."""
    from .pytest_compat import compile_selection

    expression = str(text).strip()
    compile_selection(expression)  # ValueError with pytest's own message
    return expression


def parse_process_count(text: Any) -> int:
    """Local worker processes: a whole number from 1, or -1 for one per CPU core."""
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid process count '{text}': a whole number >= 1, or -1 for one per core") from None
    if value == -1:
        return os.cpu_count() or 1
    if value < 1 or value > 1024:
        raise ValueError(f"invalid process count '{text}': a whole number from 1 to 1024, or -1 for one per core")
    return value


def parse_worker_count(text: Any) -> int:
    """How many workers a master waits for: a whole number from 1."""
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid worker count '{text}': must be a whole number >= 1") from None
    if value < 1 or value > 100_000:
        raise ValueError(f"invalid worker count '{text}': must be a whole number from 1 to 100000")
    return value


def parse_port(text: Any) -> int:
    """A TCP port, 1-65535 (0 is refused: workers must know where to connect)."""
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid port '{text}': must be a whole number from 1 to 65535") from None
    if not 1 <= value <= 65535:
        raise ValueError(f"invalid port '{text}': must be a whole number from 1 to 65535")
    return value


def parse_network_host(text: Any) -> str:
    """A host name or IP address to bind or connect to (no scheme, no port)."""
    host = str(text).strip()
    if not host or any(c.isspace() for c in host) or "/" in host or (":" in host and not _is_ipv6(host)):
        raise ValueError(f"invalid host '{text}': give a host name or an IP address, e.g. 127.0.0.1 or 0.0.0.0 "
                         "(no scheme, no port)")
    return host.strip("[]")


def _is_ipv6(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(host.strip("[]"))
    except ValueError:
        return False
    return True


def parse_secret(text: Any) -> str:
    """The shared secret of a distributed run; never echoed, not even in an error."""
    secret = str(text)
    if not secret.strip():
        raise ValueError("the secret is empty: give every node the same non-empty secret")
    return secret


def parse_save_name(text: Any) -> str:
    """A baseline's name, part of its file name: letters, digits, ``.``, ``_`` and ``-``; ``""`` (given alone): the
    git commit's."""
    if text is True:
        return ""
    name = str(text).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ValueError(f"invalid baseline name '{text}': use letters, digits, '.', '_' and '-' (at most 64), "
                         "starting with a letter or digit")
    return name


def parse_storage(text: Any) -> str:
    """The baselines' directory: created when the first one is saved, so it must be creatable."""
    path = str(text).strip()
    if not path or os.path.isfile(path):
        raise ValueError(f"invalid storage '{text}': name a directory")
    check_directory_creatable(path, path)
    return path


def parse_compare_selector(text: Any) -> str:
    selector = str(text).strip()
    if not selector:
        raise ValueError("--load-compare: name a baseline: its number, its name, a path, or latest")
    return selector


def parse_list(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        items = [str(t) for t in text]
    else:
        items = str(text).replace("\n", ",").split(",")
    return [item.strip() for item in items if item.strip()]


@dataclass(frozen=True)
class LoadOption:
    """One ``--load-*`` option with its ini key and environment variable."""

    name: str  # the part after --load-, e.g. "run-time"
    help: str
    parse: Callable[[Any], Any] | None = None
    default: Any = None
    flag: bool = False
    repeatable: bool = False
    metavar: str | None = None
    run_setting: bool = False  # one of a run's settings: also a ``load`` marker argument
    ini_name: str | None = None  # when the ini key is not the mechanical one
    positive: bool = False  # 0 is out of range too (an interval that paces something)
    secret: bool = False  # never echoed: not in messages, not in parsed_options
    const: Any = None  # the value of the option given alone (``--load-compare``): its value is optional

    @property
    def key(self) -> str:
        """The setting's name in code and in the ``load`` marker, e.g. ``run_time``."""
        return self.name.replace("-", "_")

    @property
    def dest(self) -> str:
        return INI_PREFIX + self.key

    @property
    def cli(self) -> str:
        return "--load-" + self.name

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper()

    @property
    def ini(self) -> str:
        return self.ini_name or self.dest


OPTIONS: tuple[LoadOption, ...] = (
    LoadOption("users", "number of concurrent users (default 1)", parse_user_count, 1, metavar="N", run_setting=True),
    LoadOption("spawn-rate", "users started per second (default: all users within one second)",
               parse_spawn_rate, None, metavar="RATE", run_setting=True),
    LoadOption("run-time", "how long the run lasts, e.g. 30s, 5m, 1h30m (default 10s)",
               parse_duration, 10.0, metavar="DURATION", run_setting=True),
    LoadOption("host", "base URL the users load, e.g. http://127.0.0.1:8080", parse_host, None, metavar="URL",
               run_setting=True),
    LoadOption("tags", "run only tasks with any of these tags (comma-separated)", parse_list, None, metavar="TAGS",
               run_setting=True),
    LoadOption("exclude-tags", "skip tasks with any of these tags (comma-separated)", parse_list, None,
               metavar="TAGS", run_setting=True),
    LoadOption("stop-timeout", "time users get to finish their task when the run stops (default 0: stop at once)",
               parse_duration, 0.0, metavar="DURATION", run_setting=True),
    # issue 21: the open model (docs/open-model.md)
    LoadOption("rate", "open model: start this many iterations (one task of a user) per second, whatever the "
               "response times, e.g. 200/s (600/m, 36000/h); users come from a pool (--load-max-users)",
               parse_rate, None, metavar="RATE", run_setting=True),
    LoadOption("rate-stages", "open model: ramp the rate linearly through stages RATE:DURATION, from 0, e.g. "
               "'50/s:30s,200/s:1m,0/s:10s' (the run lasts their total unless --load-run-time is given)",
               parse_rate_stages, None, metavar="STAGES", run_setting=True),
    LoadOption("max-users", "open model: the most users the pool may hold; an iteration due when all are busy is "
               "dropped and counted (dropped_iterations) (default 100)", parse_user_count, None, metavar="N", positive=True,
               run_setting=True),
    LoadOption("fail-ratio", "fail the run when its fail ratio is above this (0.01 or 1%)", parse_ratio, None,
               metavar="RATIO"),
    LoadOption("threshold", "a threshold the run must meet, e.g. 'p95 < 300' or 'GET /cart: p99 < 500' "
               "(repeatable; in the ini file one per line; in the environment ';'-separated)", None, None,
               repeatable=True, metavar="EXPR", ini_name="load_thresholds"),
    LoadOption("abort-after", "abort (and fail) the run once any threshold has been breached this long without a "
               "break, e.g. 10s (a threshold's own 'for 10s' wins; default: never)", parse_duration, None,
               metavar="DURATION", positive=True),
    LoadOption("html", "write a self-contained HTML report to this path", parse_output_file, None, metavar="PATH"),
    LoadOption("csv", "write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, "
               "PREFIX_exceptions.csv", parse_output_prefix, None, metavar="PREFIX"),
    LoadOption("json", "write the whole result as JSON to this path", parse_output_file, None, metavar="PATH"),
    LoadOption("save", "after the run, store its result as a baseline under the storage directory, named NAME "
               "(given alone: after the git commit)", parse_save_name, None, metavar="NAME", const=True),
    LoadOption("autosave", "store every run's result as a baseline, named after the git commit", parse_bool, False,
               flag=True),
    LoadOption("storage", "where baselines are stored, one directory per machine (default .loadhooks in the "
               "rootdir)", parse_storage, None, metavar="PATH"),
    LoadOption("compare", "compare the run with a stored baseline: its number (NNNN), its NAME, a PATH to a saved "
               "JSON file, or latest (the default when given alone)", parse_compare_selector, None,
               metavar="BASELINE", const="latest"),
    LoadOption("compare-fail", "fail the run when it is worse than its baseline beyond this, e.g. 'p95:+10%', "
               "'GET /cart: p99:+20%', 'fail_ratio:+0.5pp' or 'rps:-15%' (repeatable; in the ini file one per "
               "line; in the environment ';'-separated)", None, None, repeatable=True, metavar="EXPR"),
    LoadOption("tests", "use the tests this expression selects as load tasks (pytest's -k grammar: names, keywords, "
               "marker names), beside those marked load_task", parse_selection, None, metavar="EXPR"),
    LoadOption("only", "run only load-run items and the tests that use their results", parse_bool, False, flag=True),
    LoadOption("live-interval", "seconds between live status lines when not on a terminal (default 5)",
               parse_duration, 5.0, metavar="SECONDS", positive=True),
    LoadOption("usage-interval", "seconds between a process's CPU and memory samples: the usage_monitor event, "
               "cpu_warning and the saturated-generator warning (default 2)", parse_duration, None,
               metavar="SECONDS", positive=True),
    LoadOption("processes", "run the users in N local worker processes, this pytest process their master "
               "(-1: one per CPU core)", parse_process_count, None, metavar="N"),
    LoadOption("master", "be the master of a distributed run: wait for --load-expect-workers workers, "
               "then drive them", parse_bool, False, flag=True),
    LoadOption("expect-workers", "how many workers the master waits for before a run starts (default 1)",
               parse_worker_count, 1, metavar="N"),
    LoadOption("expect-workers-timeout", "how long a master waits for its workers (then the run is errored), "
               "and a worker for the master of each run (default 60s)", parse_duration, 60.0, metavar="DURATION", positive=True),
    LoadOption("master-bind-host", "the address the master listens on (default 127.0.0.1: this machine only)",
               parse_network_host, "127.0.0.1", metavar="HOST"),
    LoadOption("master-bind-port", "the port the master listens on (default 5557)", parse_port, 5557,
               metavar="PORT"),
    LoadOption("worker", "be a worker: run the users a master assigns, for each of the session's runs",
               parse_bool, False, flag=True),
    LoadOption("master-host", "the master a worker connects to (default 127.0.0.1)", parse_network_host,
               "127.0.0.1", metavar="HOST"),
    LoadOption("master-port", "the master's port (default 5557)", parse_port, 5557, metavar="PORT"),
    LoadOption("secret", "a secret shared by the master and its workers: only workers that hold it join, and "
               "the traffic is encrypted (never shown)", parse_secret, None, metavar="SECRET", secret=True),
    LoadOption("allow-worker-loss", "a distributed run that lost a worker (killed, silent, quit) passes, the loss a "
               "warning (default: the run fails, naming the worker and what of its work is missing)", parse_bool,
               False, flag=True),
    LoadOption("web", "serve the web UI (dashboard, start form, Locust's JSON endpoints) while the session runs",
               parse_bool, False, flag=True),
    LoadOption("web-host", "the address the web UI listens on (default 127.0.0.1: this machine only)",
               parse_network_host, "127.0.0.1", metavar="HOST"),
    LoadOption("web-port", "the web UI's port (default 8089; 0: any free port, printed)", parse_web_port, 8089,
               metavar="PORT"),
    LoadOption("web-wait", "serve the web UI and wait for a start from its form (stop, change and start again; "
               "'End run' hands the last run to pytest, as stopped when it ended before its run time)", parse_bool, False,
               flag=True),
    LoadOption("web-login", "serve the web UI behind a login (init listeners set environment.web_ui.auth_args and "
               "login_manager.user_loader)", parse_bool, False, flag=True),
    LoadOption("tls-cert", "serve the web UI over HTTPS with this certificate (PEM; also SSL_CERT)",
               parse_readable_file, None, metavar="PATH"),
    LoadOption("tls-key", "the private key of --load-tls-cert (PEM; also SSL_KEY)", parse_readable_file, None,
               metavar="PATH"),
    # issue 22: live metrics and traces out (plugin/telemetry.py, docs/observability.md)
    LoadOption("otel", "export OpenTelemetry metrics and a span per request (with a W3C traceparent header) "
               "over OTLP/HTTP, configured by the OTEL_* variables (needs pytest-loadhooks[otel])", parse_bool, False,
               flag=True),
    LoadOption("otel-sampling", "the share of requests traced with --load-otel, 0-1 or a percentage like 1% "
               "(default 1, or OTEL_TRACES_SAMPLER_ARG with a traceidratio sampler)", parse_sampling, None,
               metavar="RATIO"),
    LoadOption("metrics-port", "serve Prometheus metrics of the running load at http://[HOST:]PORT/metrics "
               "(HOST default 127.0.0.1; the web UI serves /metrics too)", parse_metrics_address, None,
               metavar="[HOST:]PORT"),
)
"""Every option, once: ``pytest --help``, the ini keys, the variables, the ``load`` marker and
docs/options.md are all built from this tuple."""

RUN_SETTINGS: tuple[LoadOption, ...] = tuple(option for option in OPTIONS if option.run_setting)
"""The options that are a run's settings, which a ``load`` marker may override."""


def add_options(parser: Any) -> None:
    group = parser.getgroup(GROUP, "load testing (pytest-loadhooks)")
    for option in OPTIONS:
        # argparse %-formats help strings, so a literal percent must be doubled.
        help_text = f"{option.help} [ini: {option.ini}, env: {option.env_var}]".replace("%", "%%")
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, dest=option.dest, help=help_text)
        elif option.const is not None:
            group.addoption(option.cli, action="store", nargs="?", const=option.const, default=None,
                            dest=option.dest, metavar=option.metavar, help=help_text)
        elif option.repeatable:
            group.addoption(option.cli, action="append", default=None, dest=option.dest, metavar=option.metavar,
                            help=help_text)
        else:
            group.addoption(option.cli, action="store", default=None, dest=option.dest, metavar=option.metavar,
                            help=help_text)
        if option.repeatable:
            parser.addini(option.ini, option.help, type="linelist")
        else:
            parser.addini(option.ini, option.help, type="bool" if option.flag else "string", default=None)


def raw_sources(config: Any, option: LoadOption) -> list[tuple[str, Any]]:
    """Where a value was given, highest precedence first, as (source, raw value)."""
    found: list[tuple[str, Any]] = []
    cli = config.getoption(option.dest, None)
    if cli not in (None, False, []):
        found.append((option.cli, cli))
    if option.env_var in os.environ and os.environ[option.env_var].strip() != "":
        found.append((option.env_var, os.environ[option.env_var]))
    ini = ini_values(config)
    if option.ini in ini:
        # Read raw and parsed here: pytest's getini raises on a native TOML value of another type
        # ([tool.pytest] load_users = 5) or a bad boolean, without naming the key.
        found.append((f"ini {option.ini}", ini[option.ini]))
    return found


def given_as(config: Any, option: LoadOption) -> str | None:
    """How the effective value was given, for messages (``--load-run-time=1s``); None when defaulted."""
    sources = raw_sources(config, option)
    if not sources:
        return None
    source, raw = sources[0]
    if option.secret:
        raw = "****"
    return f"{source} = {raw}" if source.startswith("ini ") else f"{source}={raw}"


def resolve(config: Any, option: LoadOption) -> Any:
    """The option's effective value (parsed), or raises ValueError naming its source."""
    sources = raw_sources(config, option)
    if option.repeatable:
        values: list[str] = []
        for source, raw in sources:
            if source == option.env_var:
                values.extend(line for line in str(raw).split(";") if line.strip())
            elif isinstance(raw, str):
                values.extend(line for line in raw.splitlines() if line.strip())
            elif isinstance(raw, (list, tuple)):
                values.extend(str(line) for line in raw)
            else:
                raise ValueError(f"{source}: expected expressions (a string or a list of them), got {raw!r}")
        return [v.strip() for v in values if v.strip()]
    if not sources:
        return option.default
    source, raw = sources[0]
    if option.parse is None:
        return raw
    try:
        value = option.parse(raw)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    if option.positive and not value:
        raise ValueError(f"{source}: invalid value '{raw}': must be more than 0")
    return value


def value_of(config: Any, key: str) -> Any:
    """The effective value of the option whose setting name is ``key`` (``usage_interval``)."""
    return resolve(config, next(option for option in OPTIONS if option.key == key))


def is_load_session(config: Any) -> bool:
    """A session runs load when the invocation asks for it: a --load-* option (command line, ``addopts``,
    ``PYTEST_ADDOPTS``) or a LOADHOOKS_* variable. ini keys only configure the runs such a session does,
    so a plain ``pytest`` in a project whose ini sets ``load_*`` keys stays plain; ``load_only = true`` is
    the one key that asks for load itself (a project whose sessions are all load runs)."""
    namespace = early_options(config)  # read before the initial conftests, where gevent is patched
    for option in OPTIONS:
        if getattr(namespace, option.dest, None) not in (None, False, []):
            return True
    if _ini_asks_for_load(config):
        return True
    return any(name.startswith(ENV_PREFIX) and value.strip() for name, value in os.environ.items())


def _ini_asks_for_load(config: Any) -> bool:
    raw = ini_values(config).get(f"{INI_PREFIX}only")
    try:
        return raw is not None and parse_bool(raw)
    except ValueError:
        return True  # a malformed value: the load session's start-up names it in one line
