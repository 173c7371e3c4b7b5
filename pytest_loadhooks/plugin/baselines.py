"""Baselines: store a run's result, compare the next run with it, fail the run on a regression.

``--load-save[=NAME]`` / ``--load-autosave`` write the run's result document, with what makes
two runs comparable (machine, git commit, options, user classes) under its ``saved`` key, to
``<storage>/<machine-id>/NNNN_<name-or-commit>_<timestamp>.json``. ``--load-compare[=...]``
picks a stored result (or any saved JSON file) before any traffic; after the run the
comparison (``pytest_loadhooks.compare``) joins the result, the reports and the terminal
summary, and each ``--load-compare-fail`` rule is judged like a threshold: a breach fails
the ``load_run`` item, its message in junit XML too.

The session's :class:`Baselines` joins every run as a participant (``plugin.lifecycle``): once
the run's thresholds are checked, before its reports are written, it compares and saves.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..compare import Rule, RuleError, compare_documents, judge, parse_rules
from ..verdicts.thresholds import Threshold, Verdict
from .lifecycle import Participant

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun

BASELINES_KEY = pytest.StashKey["Baselines | None"]()
DEFAULT_STORAGE = ".loadhooks"
SPREAD_WINDOW = 5
"""At most this many stored results of the same run (the baseline and those before it) make its spread."""
SCAN_LIMIT = 200
"""Stored results read, newest first, to find the baseline of a run (a store of thousands stays quick)."""
_FILE = re.compile(r"^(?P<number>\d{4,})_(?P<name>.+)_(?P<stamp>\d{8}T\d{6}Z)\.json$")


class BaselineError(ValueError):
    """A baseline that cannot be found or read: a usage error, before any traffic."""


def machine_id() -> str:
    """The store's directory for this machine: OS, Python implementation and version, pointer size.

    Not the host name: CI machines are new every run, and their results should still meet.
    The host name and CPU count are kept in each result, and a comparison says when they differ.
    """
    bits = "64bit" if sys.maxsize > 2**32 else "32bit"
    return (f"{platform.system()}-{platform.python_implementation()}-"
            f"{sys.version_info.major}.{sys.version_info.minor}-{bits}")


def machine_info() -> dict[str, Any]:
    return {"node": platform.node(), "system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "python": platform.python_version()}


def git_info(directory: Path) -> dict[str, Any] | None:
    """The checked-out commit (and branch, and whether files changed), or None outside a git work tree."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=10,
                                  check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    return {"commit": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


@dataclass(frozen=True)
class StoredResult:
    path: Path
    number: int
    name: str
    stamp: str

    @property
    def label(self) -> str:
        return self.path.stem


def stored_results(directory: Path) -> list[StoredResult]:
    """The results stored in one machine's directory, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _FILE.match(path.name)
        if match and path.is_file():
            found.append(StoredResult(path, int(match["number"]), match["name"], match["stamp"]))
    return sorted(found, key=lambda stored: (stored.number, stored.stamp))


def read_result(path: Path) -> dict[str, Any]:
    """A saved result document, checked by value (``compare.validate``); BaselineError (one line naming the
    file and the field) otherwise."""
    from ..compare.validate import ResultError, UnreadableResult, load_result

    try:
        return load_result(path)
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist") from None
    except (OSError, UnreadableResult) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BaselineError(f"baseline {path} cannot be read: {reason}") from None
    except ResultError as error:
        raise BaselineError(f"baseline {path}: {error}") from None


@dataclass
class BaselineSettings:
    save: bool
    save_name: str
    storage: Path
    compare: str | None
    rules: list[Rule] = field(default_factory=list)
    save_option: str = "--load-save"
    """The option that asked to save (``--load-save`` or ``--load-autosave``), for messages."""

    @classmethod
    def from_values(cls, values: Mapping[str, Any], rootdir: Path) -> BaselineSettings:
        """From the resolved option values; ValueError (a usage error) for bad rules or rules with nothing to judge."""
        try:
            rules = parse_rules(values.get("compare_fail") or [])
        except RuleError as error:
            raise ValueError(f"--load-compare-fail: {error}") from None
        if rules and not values.get("compare"):
            raise ValueError("--load-compare-fail needs a baseline to compare with: add --load-compare "
                             "(latest, a number, a name or a path)")
        storage = Path(values.get("storage") or DEFAULT_STORAGE)
        return cls(save=values.get("save") is not None or bool(values.get("autosave")),
                   save_name=values.get("save") or "", storage=storage if storage.is_absolute() else rootdir / storage,
                   compare=values.get("compare"), rules=rules,
                   save_option="--load-save" if values.get("save") is not None else "--load-autosave")

    @property
    def active(self) -> bool:
        return self.save or self.compare is not None


class Baselines(Participant):
    """A session's baselines: the one(s) to compare with, found before any traffic, and where to save."""

    def __init__(self, settings: BaselineSettings, rootdir: Path) -> None:
        self.settings = settings
        self.rootdir = rootdir
        self.machine_id = machine_id()
        self.machine = machine_info()
        self.git = git_info(rootdir)
        self.candidates: list[StoredResult | Path] = []
        self._documents: dict[Path, dict[str, Any]] = {}
        if settings.save:
            self._prove_storage_writable()
        if settings.compare is not None:
            self.candidates = self._select(settings.compare)
            self._read(self._path(self.candidates[-1]))  # the newest is read now: a bad file costs no run

    @property
    def directory(self) -> Path:
        return self.settings.storage / self.machine_id

    def _prove_storage_writable(self) -> None:
        """A file created (and removed) where the result will be stored: a store that cannot take it is a usage
        error before any traffic, not a traceback after the run (directories made for the proof are removed)."""
        from .options import prove_writable_directory

        try:
            prove_writable_directory(str(self.directory))
        except ValueError as error:
            raise BaselineError(f"{self.settings.save_option}: cannot store baselines in '{self.directory}': "
                                f"{error}") from None

    # -- finding the baseline --
    def _select(self, selector: str) -> list[StoredResult | Path]:
        """The results ``--load-compare`` names, oldest first; BaselineError when there are none."""
        as_path = Path(selector)
        if selector.endswith(".json") or os.sep in selector or "/" in selector or as_path.is_dir():
            path = as_path if as_path.is_absolute() else Path.cwd() / as_path
            if path.is_dir():  # `--load-compare tests/load`: the option took the test path as its value
                raise BaselineError(f"--load-compare={selector}: {path} is a directory, not a saved result "
                                    "(write --load-compare=latest when test paths follow it)")
            if path.exists() and not path.is_file():  # a FIFO, a device: reading it could block or never end
                raise BaselineError(f"--load-compare={selector}: {path} is not a regular file, not a saved result")
            if not path.is_file():
                raise BaselineError(f"--load-compare={selector}: no such file {path}")
            return [path]
        mine = stored_results(self.directory)
        others = [stored for directory in sorted(self.settings.storage.glob("*/")) if directory != self.directory
                  for stored in stored_results(directory)]
        for pool in (mine, sorted(others, key=lambda s: (s.stamp, s.number))):
            chosen = [s for s in pool if self._matches(s, selector)]
            if chosen:
                return chosen
        stored = ", ".join(s.label for s in mine[-5:]) or "none"
        what = "no stored result" if selector == "latest" else f"no stored result numbered or named {selector!r}"
        raise BaselineError(f"--load-compare={selector}: {what} in {self.directory} (latest there: {stored}); "
                            "save one first with --load-save or --load-autosave")

    @staticmethod
    def _matches(stored: StoredResult, selector: str) -> bool:
        if selector == "latest":
            return True
        if selector.isdigit():
            return stored.number == int(selector)
        return stored.name == selector

    @staticmethod
    def _path(candidate: StoredResult | Path) -> Path:
        return candidate.path if isinstance(candidate, StoredResult) else candidate

    def _read(self, path: Path) -> dict[str, Any]:
        if path not in self._documents:
            self._documents[path] = read_result(path)
        return self._documents[path]

    def baselines_for(self, run_id: str) -> tuple[list[dict[str, Any]], list[str]]:
        """The reference for a run (newest candidate of the same run, else the newest) and older comparable ones."""
        newest_first = list(reversed(self.candidates))[:SCAN_LIMIT]
        reference = newest_first[0]
        for candidate in newest_first:
            try:
                if self._read(self._path(candidate)).get("run", {}).get("name") == run_id:
                    reference = candidate
                    break
            except BaselineError:
                continue  # an older file that cannot be read does not stand in the way of the newest
        documents = [self._read(self._path(reference))]
        labels = [reference.label if isinstance(reference, StoredResult) else str(reference)]
        if isinstance(reference, StoredResult):
            documents += self._older_of_same_run(reference, documents[0])
        return documents, labels

    def _older_of_same_run(self, reference: StoredResult, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Up to SPREAD_WINDOW - 1 results stored before the reference, of the same run with the same settings."""
        from ..compare import comparability_warnings

        older = [s for s in stored_results(reference.path.parent) if s.number < reference.number]
        found: list[dict[str, Any]] = []
        for stored in reversed(older[-SCAN_LIMIT:]):
            if len(found) >= SPREAD_WINDOW - 1:
                break
            try:
                candidate = self._read(stored.path)
            except BaselineError:
                continue
            same_run = candidate.get("run", {}).get("name") == document.get("run", {}).get("name")
            if same_run and not comparability_warnings(candidate, document):
                found.append(candidate)
        return found

    # -- after a run --
    def outputs(self, run: LoadRun, result: LoadResult, forced: bool) -> None:
        """``--load-compare``: the comparison and its rules' verdicts join the result before the reports are
        written; ``--load-save``: the result is stored (not a partial one: an interrupted run is no baseline)."""
        from ..report import build_report_data

        document = build_report_data(result.environment, run.run_info(result))
        if self.settings.compare is not None:
            self.compare(run, result, document)
            document = build_report_data(result.environment, run.run_info(result))
        if self.settings.save and not forced and result.interrupted is None and result.stopped is None:
            try:
                result.saved_baselines.append(self.save(run, document))
            except OSError as error:  # proven writable at start-up: the disk filled up since
                result.output_failed([f"cannot save the baseline in {self.directory}: {error.strerror or error}"])

    def metadata(self, run: LoadRun) -> dict[str, Any]:
        """What makes two runs comparable, as the ``saved`` key of a stored result holds it."""
        settings = run.settings
        shape = settings.shape
        options = {"users": settings.users, "spawn_rate": settings.effective_spawn_rate,
                   "run_time": settings.effective_run_time, "host": settings.host, "tags": settings.tags,
                   "exclude_tags": settings.exclude_tags, "stop_timeout": settings.stop_timeout,
                   "shape": None if shape is None else getattr(shape, "__name__", type(shape).__name__)}
        return {"machine_id": self.machine_id, "machine": self.machine,
                "commit": (self.git or {}).get("commit"), "branch": (self.git or {}).get("branch"),
                "dirty": (self.git or {}).get("dirty"), "options": options,
                "user_classes": sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in run.user_classes)}

    def compare(self, run: LoadRun, result: LoadResult, document: Mapping[str, Any]) -> None:
        """Compare the run with its baseline: the comparison onto the result, each rule's outcome a verdict."""
        if self.settings.compare is None:
            return
        documents, labels = self.baselines_for(run.run_id)
        comparison = compare_documents(documents, document, labels=labels, current_meta=self.metadata(run))
        result.comparison = comparison
        for outcome in judge(comparison, self.settings.rules, [documents[0], document]):
            threshold = Threshold(f"{outcome.rule.expression} (vs baseline)", outcome.rule.metric,
                                  "<=" if outcome.rule.sign > 0 else ">=", outcome.limit if outcome.limit is not None
                                  else outcome.rule.amount, outcome.rule.method, outcome.rule.name)
            result.thresholds.append(Verdict(threshold, outcome.passed, outcome.current, outcome.message))

    def save(self, run: LoadRun, document: dict[str, Any]) -> Path:
        """Store the run's result as the next numbered file of this machine's directory."""
        from ..report import write_json

        stored = stored_results(self.directory)
        number = (stored[-1].number + 1) if stored else 1
        name = self.settings.save_name or self._commit_name()
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{number:04d}_{name}_{stamp}.json"
        saved = {**self.metadata(run), "name": name, "number": number, "file": path.stem,
                 "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat()}
        document = {key: value for key, value in document.items() if key != "comparison"}
        return write_json({**document, "saved": saved}, path)

    def _commit_name(self) -> str:
        if not self.git:
            return "run"
        return self.git["commit"][:8] + ("-dirty" if self.git.get("dirty") else "")


OPTION_KEYS = ("save", "autosave", "storage", "compare", "compare_fail")


def from_config(config: Any) -> Baselines | None:
    """The session's baselines, or None when it neither saves nor compares; ValueError for a usage error
    (a bad rule, a baseline that is missing or cannot be read), so that it costs no run."""
    from . import options as opts

    values = {option.key: opts.resolve(config, option) for option in opts.OPTIONS if option.key in OPTION_KEYS}
    settings = BaselineSettings.from_values(values, Path(config.rootpath))
    if not settings.active:
        return None
    return Baselines(settings, Path(config.rootpath))
