"""Case categories: the table of what can go wrong, how often, and how long it takes.

The table follows the two families of the national standard CJ/T 214 [1]_: *components*
(部件: public utilities, road traffic, city appearance, greenery, housing/land) and
*events* (事件: city appearance, advertising, construction management, emergencies,
street order). Each category carries its share of all cases, its priority, the crew skill
that handles it, the distribution of its on-site work time, its deadline (time from
report to closure before escalation) and an hour-of-day profile of when it occurs.

The bundled table (``data/cases/categories.csv``) holds 25 categories whose shares,
times and profiles are **illustrative assumptions**, not measurements; see
``data/cases/README.md`` for the CSV schema.

The hour-of-day profiles in :data:`PROFILES` are illustrative shapes as well (flat, day
time, evening, night, commuting peaks), each normalised to a mean of 1 over the 24 hours.

References
----------
.. [1] CJ/T 214-2007, 城市市政综合监管信息系统 管理部件和事件分类、编码及数据要求
   (Urban municipal supervision and management information system: classification,
   coding and data requirements of components and events). Ministry of Construction of
   the P.R. China, 2007.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType

import numpy as np

from twin._types import FloatArray, IntArray, StrArray
from twin.errors import ScenarioError
from twin.network.build import data_dir

__all__ = [
    "COLUMNS",
    "DEFAULT_SKILLS",
    "KINDS",
    "PROFILES",
    "WORK_KINDS",
    "CategoryTable",
    "default_categories_path",
    "load_categories",
    "profile_weights",
]

logger = logging.getLogger(__name__)

#: Columns a categories CSV must hold (others are ignored).
COLUMNS = (
    "code",
    "kind",
    "major_class",
    "minor_class",
    "name_zh",
    "share",
    "priority",
    "skill",
    "work_mean_min",
    "work_cv",
    "work_kind",
    "deadline_min",
    "profile",
)

#: Case families of CJ/T 214: components (部件) and events (事件).
KINDS = ("component", "event")

#: Distribution kinds of the on-site work time (see :mod:`twin.cases.distributions`).
WORK_KINDS = ("lognormal", "gamma", "exponential", "fixed")

#: Crew skills of the default :class:`twin.scenario.CrewsConfig`.
DEFAULT_SKILLS = ("enforcement", "maintenance", "sanitation")

#: Priorities: 1 high, 2 normal, 3 low.
PRIORITIES = (1, 2, 3)


# fmt: off
_RAW_PROFILES: dict[str, list[float]] = {
    "flat": [1.0] * 24,
    "day": [0.2, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 1.9, 1.8,
            1.6, 1.7, 1.8, 1.8, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.4, 0.3],
    "evening": [0.6, 0.4, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8,
                0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 1.8, 2.2, 2.4, 2.2, 1.6, 1.0],
    "night": [2.4, 2.4, 2.2, 1.8, 1.2, 0.7, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2,
              0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.4, 0.6, 1.0, 1.5, 2.0, 2.3],
    "commute": [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.9, 2.0, 2.4, 1.6, 1.1, 1.0,
                1.0, 1.0, 1.0, 1.1, 1.5, 2.1, 2.3, 1.5, 1.0, 0.7, 0.5, 0.3],
}
# fmt: on


def _normalise(raw: Sequence[float]) -> FloatArray:
    w = np.asarray(raw, dtype=np.float64)
    w = w / float(w.mean())
    w.setflags(write=False)
    return w


#: Illustrative hour-of-day shapes (local hours 0-23), each with mean 1 [-]. ``flat``:
#: any hour; ``day``: office hours; ``evening``: 17-23 h (street vending, dumping after
#: work); ``night``: 21-05 h (muck trucks, night construction, bar noise, lamps noticed
#: after dark); ``commute``: the 7-9 h and 17-19 h peaks (parking, shared bikes).
PROFILES: Mapping[str, FloatArray] = MappingProxyType(
    {name: _normalise(raw) for name, raw in _RAW_PROFILES.items()}
)

_SHARE_TOL = 1e-6
_MAX_LISTED = 10


def profile_weights(name: str) -> FloatArray:
    """The hour-of-day weights of a named profile [-], shape (24,), mean 1.

    Raises
    ------
    ScenarioError
        If ``name`` is not one of :data:`PROFILES`.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ScenarioError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None


def default_categories_path() -> Path:
    """Path of the bundled table, ``data/cases/categories.csv``."""
    return data_dir() / "cases" / "categories.csv"


@dataclass(frozen=True, eq=False)
class CategoryTable:
    """Case categories, one entry per category in every array (read-only arrays).

    Attributes
    ----------
    code
        Short unique code of each category (``"manhole_cover"``, ...).
    kind
        ``"component"`` (部件) or ``"event"`` (事件).
    major_class
        CJ/T 214 major class (``"public_utilities"``, ``"street_order"``, ...).
    minor_class
        Plain-English name of the category.
    name_zh
        Chinese name of the category.
    share
        Share of all cases [-]; sums to 1.
    priority
        1 high, 2 normal, 3 low.
    skill
        Crew skill that handles the category (a key of ``CrewsConfig.skills``).
    work_mean
        Mean on-site work time [s].
    work_cv
        Coefficient of variation of the on-site work time [-].
    work_kind
        Distribution of the work time: ``lognormal``, ``gamma``, ``exponential``, ``fixed``.
    deadline
        Time allowed from report to closure before the case escalates [s].
    profile
        Name of the hour-of-day profile (a key of :data:`PROFILES`).
    hourly_weight
        Hour-of-day weight of each category [-], shape (n, 24), each row with mean 1;
        the rate of category ``c`` in local hour ``h`` is
        ``daily_total · share[c] · hourly_weight[c, h] / 24`` cases per hour.
    source
        Where the table was read from (for messages).
    """

    code: StrArray
    kind: StrArray
    major_class: StrArray
    minor_class: StrArray
    name_zh: StrArray
    share: FloatArray
    priority: IntArray
    skill: StrArray
    work_mean: FloatArray
    work_cv: FloatArray
    work_kind: StrArray
    deadline: FloatArray
    profile: StrArray
    hourly_weight: FloatArray
    source: str = "<table>"

    def __post_init__(self) -> None:
        n = self.code.shape[0]
        for f in fields(self):
            if f.name == "source":
                continue
            arr = np.array(getattr(self, f.name))  # a private, read-only copy
            expected = (n, 24) if f.name == "hourly_weight" else (n,)
            if arr.shape != expected:
                raise ValueError(
                    f"CategoryTable.{f.name} has shape {arr.shape}, expected {expected}"
                )
            arr.setflags(write=False)
            object.__setattr__(self, f.name, arr)
        object.__setattr__(self, "_index", {str(c): i for i, c in enumerate(self.code)})

    def __len__(self) -> int:
        return int(self.code.shape[0])

    @property
    def n(self) -> int:
        """Number of categories."""
        return len(self)

    def codes(self) -> list[str]:
        """The category codes, in table order."""
        return [str(c) for c in self.code]

    def index_of(self, code: str) -> int:
        """Position of a category code in the table.

        Raises
        ------
        ScenarioError
            If the code is not in the table; the message lists the known codes.
        """
        index: dict[str, int] = self.__dict__["_index"]
        try:
            return index[code]
        except KeyError:
            raise ScenarioError(
                f"{self.source}: unknown case category {code!r}; known: {', '.join(self.codes())}"
            ) from None

    def indices_of(self, codes: Iterable[str]) -> IntArray:
        """Positions of several category codes (see :meth:`index_of`)."""
        return np.array([self.index_of(c) for c in codes], dtype=np.int64)

    def has_code(self, code: str) -> bool:
        """Whether ``code`` is a category of the table."""
        return code in self.__dict__["_index"]

    def daily_profile(self) -> FloatArray:
        """Share-weighted hour-of-day weight of all cases together [-], shape (24,), mean 1."""
        out: FloatArray = self.share @ self.hourly_weight
        return out


# ---------------------------------------------------------------------------- loading
def _resolve(source: str | Path) -> Path:
    if isinstance(source, str) and source == "default":
        return default_categories_path()
    return Path(source)


def _read_rows(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """Header and data rows with their starting line numbers; ``#`` lines are comments."""
    if not path.exists():
        raise ScenarioError(
            f"{path}: no such categories file; use 'default' (data/cases/categories.csv) "
            "or the path of a CSV with columns " + ", ".join(COLUMNS)
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc}); save the CSV as UTF-8.") from None
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not record or not "".join(record).strip():
            continue
        if record[0].lstrip().startswith("#"):
            continue
        if header is None:
            header, header_line = [h.strip() for h in record], start
        else:
            rows.append((start, [v.strip() for v in record]))
    if header is None:
        raise ScenarioError(f"{path}: empty categories file (no header row).")
    return header_line, header, rows


class _Errors:
    """Collects ``file:line: column: message`` errors and raises them together."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, line: int | None, column: str, message: str) -> None:
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        self.items.append(f"{where}: column {column!r}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            more = len(self.items) - _MAX_LISTED
            text = "; ".join(self.items[:_MAX_LISTED])
            if more > 0:
                text += f"; and {more} more error(s)"
            raise ScenarioError(text)


def _number(errors: _Errors, line: int, column: str, text: str, *, integer: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        errors.add(line, column, f"{text!r} is not a number")
        return math.nan
    if not math.isfinite(value):
        errors.add(line, column, f"{text!r} is not a finite number")
        return math.nan
    if integer and value != int(value):
        errors.add(line, column, f"{text!r} is not a whole number")
    return value


def _choice(errors: _Errors, line: int, column: str, text: str, allowed: Sequence[str]) -> None:
    if text not in allowed:
        errors.add(line, column, f"unknown value {text!r}; allowed: {', '.join(allowed)}")


def load_categories(
    source: str | Path = "default", *, skills: Iterable[str] | None = None
) -> CategoryTable:
    """Read and validate a categories CSV.

    Parameters
    ----------
    source
        ``"default"`` (the bundled ``data/cases/categories.csv``) or the path of a CSV with
        the columns :data:`COLUMNS` (extra columns are ignored; lines starting with ``#``
        are comments). ``work_mean_min`` and ``deadline_min`` are in minutes.
    skills
        Crew skills a category may name; default :data:`DEFAULT_SKILLS`. Pass
        ``scenario.crews.skills`` when the scenario defines its own.

    Returns
    -------
    CategoryTable
        Times converted to seconds, hour-of-day weights expanded from the profiles.

    Raises
    ------
    ScenarioError
        The file is missing or malformed: a missing column, an unknown kind, skill,
        work kind or profile, a value that is not a number, a negative time, a priority
        other than 1-3, a duplicate code, or shares that do not add up to 1 (±1e-6).
        Every problem is reported with the file, line number and column.
    """
    path = _resolve(source)
    header_line, header, rows = _read_rows(path)
    allowed_skills = tuple(skills) if skills is not None else DEFAULT_SKILLS
    errors = _Errors(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ScenarioError(
            f"{path}:{header_line}: header: missing column(s) {', '.join(map(repr, missing))} "
            f"(found: {', '.join(header)}; required: {', '.join(COLUMNS)})"
        )
    extra = [c for c in header if c not in COLUMNS]
    if extra:
        logger.info("%s: ignoring extra column(s) %s", path, ", ".join(extra))
    if not rows:
        raise ScenarioError(f"{path}: no categories (the header has no rows below it).")
    col = {name: header.index(name) for name in COLUMNS}

    records: dict[str, list[object]] = {name: [] for name in COLUMNS}
    first_line: dict[str, int] = {}
    for line, values in rows:
        if len(values) != len(header):
            errors.add(
                line, "*", f"{len(values)} values for {len(header)} columns (check commas/quotes)"
            )
            continue
        cell = {name: values[i] for name, i in col.items()}
        code = cell["code"]
        if not code:
            errors.add(line, "code", "empty code")
        elif code in first_line:
            errors.add(line, "code", f"duplicate code {code!r} (first on line {first_line[code]})")
        else:
            first_line[code] = line
        _choice(errors, line, "kind", cell["kind"], KINDS)
        _choice(errors, line, "skill", cell["skill"], allowed_skills)
        _choice(errors, line, "work_kind", cell["work_kind"], WORK_KINDS)
        _choice(errors, line, "profile", cell["profile"], tuple(PROFILES))
        share = _number(errors, line, "share", cell["share"])
        if math.isfinite(share) and not 0.0 <= share <= 1.0:
            errors.add(line, "share", f"{share:g} is not in [0, 1]")
        priority = _number(errors, line, "priority", cell["priority"], integer=True)
        if math.isfinite(priority) and priority not in PRIORITIES:
            errors.add(line, "priority", f"{priority:g} is not 1 (high), 2 (normal) or 3 (low)")
        for name in ("work_mean_min", "deadline_min"):
            v = _number(errors, line, name, cell[name])
            if v < 0:
                errors.add(line, name, f"negative time {v:g} min")
            elif name == "deadline_min" and v == 0:
                errors.add(line, name, "the deadline must be > 0 min")
            records[name].append(v)
        cv = _number(errors, line, "work_cv", cell["work_cv"])
        if cv < 0:
            errors.add(line, "work_cv", f"negative coefficient of variation {cv:g}")
        records["work_cv"].append(cv)
        records["share"].append(share)
        records["priority"].append(priority)
        for name in ("code", "kind", "major_class", "minor_class", "name_zh", "skill",
                     "work_kind", "profile"):  # fmt: skip
            records[name].append(cell[name])
    errors.raise_if_any()

    share_arr = np.array(records["share"], dtype=np.float64)
    total = float(share_arr.sum())
    if abs(total - 1.0) > _SHARE_TOL:
        errors.add(
            None, "share", f"shares add up to {total:.9g}, not 1 (±{_SHARE_TOL:g}); rescale them"
        )
        errors.raise_if_any()

    profile = np.array(records["profile"], dtype=np.str_)
    hourly = np.vstack([PROFILES[str(p)] for p in profile]).astype(np.float64)
    table = CategoryTable(
        code=np.array(records["code"], dtype=np.str_),
        kind=np.array(records["kind"], dtype=np.str_),
        major_class=np.array(records["major_class"], dtype=np.str_),
        minor_class=np.array(records["minor_class"], dtype=np.str_),
        name_zh=np.array(records["name_zh"], dtype=np.str_),
        share=share_arr,
        priority=np.array(records["priority"], dtype=np.int64),
        skill=np.array(records["skill"], dtype=np.str_),
        work_mean=np.array(records["work_mean_min"], dtype=np.float64) * 60.0,
        work_cv=np.array(records["work_cv"], dtype=np.float64),
        work_kind=np.array(records["work_kind"], dtype=np.str_),
        deadline=np.array(records["deadline_min"], dtype=np.float64) * 60.0,
        profile=profile,
        hourly_weight=hourly,
        source=str(path),
    )
    logger.debug("loaded %d case categories from %s", len(table), path)
    return table
