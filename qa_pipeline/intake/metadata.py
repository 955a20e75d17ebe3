"""Call metadata from the switch / CRM export (a CSV file), one row per recording.

Every column is optional except `audio_file` (a path relative to the input directory). A bad value is
reported as a `RowProblem` naming the row, column and value; the field is left empty (NULL) and the call
is still processed, so one bad cell never stops a batch or loses a call. Unknown columns are kept in
`extra` and stored as JSON.

CRM exports write numbers as text. Harmless forms are normalized: full-width characters (１２, Ｉｎｂｏｕｎｄ)
become ASCII (NFKC) in every known column but `audio_file` (a file name is taken as written); the seconds
columns (`*_s`) accept a seconds unit (30秒, 30s, 30 sec) and thousands separators (1,200). Destroyed
values are refused: an ID column (call_id, agent_id, caller_number, case_id) in Excel's scientific
notation (1.38001E+10) has lost its digits, so it is a problem and NULL, never a wrong ID.
"""

from __future__ import annotations

import contextlib
import csv
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

KNOWN_COLUMNS = (
    "call_id",
    "audio_file",
    "agent_id",
    "direction",
    "call_type",
    "started_at",
    "caller_number",
    "survey_score",
    "case_id",
    "answered_at",
    "ended_at",
    "hold_s",
    "acw_s",
    "agent_channel",
    "ring_count",
    "customer_tags",
)
DIRECTIONS = {"inbound": "inbound", "outbound": "outbound", "呼入": "inbound", "呼出": "outbound"}
CALL_TYPES = ("inquiry", "complaint", "repair", "rescue", "appointment", "callback", "survey", "other")


class MetadataError(Exception):
    """The metadata file as a whole cannot be used (missing, unreadable, no audio_file column)."""


@dataclass(frozen=True)
class RowProblem:
    """One bad value in the metadata file; the call is processed with that field left NULL."""

    source: str
    row: int  # 1-based line number in the CSV file, header is line 1
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.source} line {self.row}, column {self.column!r}: {self.message} (value {self.value!r})"


@dataclass(frozen=True)
class CallMetadata:
    # metadata "speech": where the privacy stage records what it masked in the field (None: nothing to mask).
    audio_file: str = field(metadata={"speech": None})
    call_id: str | None = field(default=None, metadata={"speech": None})
    agent_id: str | None = field(default=None, metadata={"speech": None})
    direction: str | None = field(default=None, metadata={"speech": None})
    call_type: str | None = field(default=None, metadata={"speech": None})
    started_at: datetime | None = None
    # Not masked but replaced by its keyed hash (qa_pipeline.privacy.protect), so a customer's calls still link.
    caller_number: str | None = field(default=None, metadata={"speech": None, "as": "hash"})
    survey_score: float | None = None
    case_id: str | None = field(default=None, metadata={"speech": None})
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hold_s: float | None = None
    acw_s: float | None = None
    agent_channel: int | None = None
    ring_count: int | None = None  # rings before the answer, when the switch logs them
    # e.g. elderly: checks may use a gentler standard
    customer_tags: tuple[str, ...] = field(default=(), metadata={"speech": None})
    # Unknown columns, free text: every string in it masked.
    extra: dict[str, str] = field(default_factory=dict, metadata={"speech": "calls.extra", "as": "value"})
    row: int | None = None


@dataclass(frozen=True)
class Metadata:
    by_audio_file: dict[str, CallMetadata]
    problems: list[RowProblem]


# Columns holding identifiers: kept as text (a leading 0 matters), checked for Excel's damage.
ID_COLUMNS = ("call_id", "agent_id", "caller_number", "case_id")
# Excel shows a number of 12 or more digits in scientific notation, and a CSV saved from Excel keeps only
# what it showed: 13800138000 becomes 1.38001E+10, the last digits gone for good.
_EXCEL_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE]\+[0-9]+")
# A plain decimal number, ASCII digits only (after NFKC); no '_', 'inf' or 'nan' as float() would take.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SECONDS_UNIT = re.compile(r"\s*(?:秒钟|秒|seconds|second|secs|sec|s)\Z", re.IGNORECASE)


def _normalized(value: str) -> str:
    """`value` with full-width and other compatibility forms as their plain characters (１２ -> 12)."""
    return unicodedata.normalize("NFKC", value).strip()


def _number(value: str) -> float | None:
    """The plain decimal number `value` (already normalized) spells, or None."""
    return float(value) if _NUMBER.fullmatch(value) else None


# The times a call can have. Switches and CRMs write placeholders for "no date" (1900-01-01,
# 0001-01-01, 9999-12-31); taken as call times they would stretch every daily KPI over centuries (one
# row per day) and title the report with year 9999. Before 2000 no center recorded these calls; a day
# ahead allows for a switch whose clock or time zone is off.
EARLIEST_CALL_TIME = datetime(2000, 1, 1)
LATEST_AHEAD = timedelta(days=1)


def _parse_time(value: str) -> datetime:
    text = _normalized(value)
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError as error:
        if str(error).startswith("Invalid isoformat string"):
            raise ValueError(f"not a date-time like 2024-05-01 09:30:00: {value!r}") from None
        raise ValueError(f"not a valid date-time: {error}") from None  # month must be in 1..12
    # Wall-clock time at the center is what daily KPIs group by, so an offset is dropped, not converted.
    parsed = parsed.replace(tzinfo=None)
    latest = datetime.now() + LATEST_AHEAD
    if not EARLIEST_CALL_TIME <= parsed <= latest:
        raise ValueError(
            f"{parsed:%Y-%m-%d} is not a plausible call time (between {EARLIEST_CALL_TIME:%Y-%m-%d}"
            f" and {latest:%Y-%m-%d}); a placeholder for 'no date'?"
        )
    return parsed


# Hold and after-call work of one call never last a day; a larger value is a unit mistake (milliseconds)
# or junk, and it would swamp the average handle time of every KPI it is in.
MAX_SECONDS = 86_400.0


def _parse_seconds(value: str) -> float:
    text = _normalized(value)
    text = _SECONDS_UNIT.sub("", text, count=1)
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    number = _number(text)
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError("must be a non-negative number of seconds (like 30, 30.5, 30秒, 1,200)")
    if number > MAX_SECONDS:
        raise ValueError(f"{number:g} s is more than a day: milliseconds, or not a duration?")
    return number


def _parse_survey(value: str) -> float:
    number = _number(_normalized(value))
    if number is None:
        raise ValueError(f"survey score must be a number between 0 and 10, not {value!r}")
    if not math.isfinite(number) or not 0 <= number <= 10:
        raise ValueError("survey score must be between 0 and 10")
    return number


def _parse_direction(value: str) -> str:
    try:
        return DIRECTIONS[_normalized(value).lower()]
    except KeyError:
        raise ValueError(f"direction must be one of {sorted(set(DIRECTIONS.values()))}") from None


def _parse_call_type(value: str) -> str:
    lowered = _normalized(value).lower()
    if lowered not in CALL_TYPES:
        raise ValueError(f"unknown call type; known: {', '.join(CALL_TYPES)}")
    return lowered


def _whole_number(value: str) -> int:
    text = _normalized(value)
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"must be a whole number, not {value!r}")
    return int(text)


def _parse_channel(value: str) -> int:
    channel = _whole_number(value)
    if channel < 0:
        raise ValueError("agent_channel must be 0 or more")
    return channel


def _parse_count(value: str) -> int:
    count = _whole_number(value)
    if count < 0:
        raise ValueError("must be 0 or more")
    return count


def _parse_id(value: str) -> str:
    text = _normalized(value)
    if _EXCEL_SCIENTIFIC.fullmatch(text):
        raise ValueError(
            "Excel converted this number to scientific notation and its digits are lost;"
            " format the column as text before exporting"
        )
    if not text:
        raise ValueError("no visible characters")
    return text


def _parse_tags(value: str) -> tuple[str, ...]:
    # Separators a CRM export may use: comma (ASCII or full-width: NFKC makes it ASCII), semicolon, space.
    value = _normalized(value)
    for separator in ";；":
        value = value.replace(separator, ",")
    return tuple(tag for tag in (part.strip().lower() for part in value.replace(" ", ",").split(",")) if tag)


_PARSERS = {
    "direction": _parse_direction,
    "call_type": _parse_call_type,
    "started_at": _parse_time,
    "answered_at": _parse_time,
    "ended_at": _parse_time,
    "survey_score": _parse_survey,
    "hold_s": _parse_seconds,
    "acw_s": _parse_seconds,
    "agent_channel": _parse_channel,
    "ring_count": _parse_count,
    "customer_tags": _parse_tags,
    **{column: _parse_id for column in ID_COLUMNS},
}


def parse_fields(
    cells: dict[str, str], source: str, line: int, problems: list[RowProblem]
) -> tuple[dict[str, object], dict[str, str]]:
    """Typed values of the known columns (bad ones appended to `problems` and left out) and the
    unknown columns as text. Shared by the metadata CSV and `qa-pipeline score` transcripts."""
    cells = _oversized_cells(cells, source, line, problems)
    values: dict[str, object] = {}
    for column in KNOWN_COLUMNS:
        text = cells.get(column, "")
        if column == "audio_file" or not text:
            continue
        parser = _PARSERS[column]
        try:
            values[column] = parser(text)
        except ValueError as error:
            problems.append(RowProblem(source, line, column, text, str(error)))
    extra = {k: v for k, v in cells.items() if k and k not in KNOWN_COLUMNS and v}
    return values, extra


# A metadata cell longer than this is not a value a switch or CRM writes (a notes field pasted whole, a
# broken export); it is left out with a problem, so that one cell never stops the batch. Python's csv
# module refuses fields over 128 KiB by default and stops the whole file: the reader below lifts that
# limit and this check takes its place, cell by cell.
MAX_CELL_CHARS = 4096


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """csv's field size limit lifted while one file is read (it is process-wide: restored after)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _start_of(value: str) -> str:
    """An oversized value as a problem quotes it: its first 40 characters."""
    return value[:40] + "…"


def _oversized_cells(cells: dict[str, str], source: str, line: int, problems: list[RowProblem]) -> dict[str, str]:
    """`cells` without those longer than MAX_CELL_CHARS, each one a problem quoting its start only."""
    kept: dict[str, str] = {}
    for column, value in cells.items():
        if len(value) > MAX_CELL_CHARS:
            problems.append(
                RowProblem(
                    source,
                    line,
                    column,
                    _start_of(value),
                    f"cell of {len(value):,} characters is longer than {MAX_CELL_CHARS:,}; left out"
                    + ("; row skipped" if column == "audio_file" else ""),
                )
            )
        else:
            kept[column] = value
    return kept


def path_under(root: Path, audio_file: str) -> str | None:
    """`audio_file` as a normalized path relative to `root`, or None when it points outside `root`.

    'sub/../a.wav' and '/abs/root/a.wav' both become 'a.wav', so they join with the file on disk.
    """
    root = root.resolve()
    target = (root / audio_file).resolve()
    if target == root or root not in target.parents:
        return None
    return target.relative_to(root).as_posix()


def read_metadata(csv_path: Path | str, input_dir: Path | str) -> Metadata:
    """Parse the metadata CSV; raise MetadataError only when the file as a whole is unusable."""
    csv_path, input_dir = Path(csv_path), Path(input_dir)
    source = str(csv_path)
    try:
        with _any_field_size(), open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "audio_file" not in [f.strip() for f in reader.fieldnames]:
                raise MetadataError(f"{source}: header has no 'audio_file' column (got {reader.fieldnames})")
            # reader.line_num after each record is the file line the record ends on (quoted cells may
            # span lines, blank lines are skipped), which is the line a person looks for.
            raw_rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise MetadataError(f"{source}: cannot read metadata CSV: {error}") from error

    problems: list[RowProblem] = []
    by_audio_file: dict[str, CallMetadata] = {}
    seen_call_ids: dict[str, int] = {}
    for line, raw in raw_rows:
        cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:  # more cells than header columns
            extra_cells = ",".join(raw[None])
            if len(extra_cells) > MAX_CELL_CHARS:
                extra_cells = _start_of(extra_cells)
            problems.append(RowProblem(source, line, "*", extra_cells, "more cells than columns"))
        audio_file = cells.get("audio_file", "")
        if not audio_file:
            problems.append(RowProblem(source, line, "audio_file", "", "empty audio_file; row skipped"))
            continue
        if len(audio_file) > MAX_CELL_CHARS:
            _oversized_cells({"audio_file": audio_file}, source, line, problems)
            continue
        try:
            normalized_file = path_under(input_dir, audio_file)
        except (ValueError, OSError, RuntimeError) as error:  # a NUL byte, a symlink loop
            problems.append(
                RowProblem(source, line, "audio_file", audio_file, f"not a usable path ({error}); row skipped")
            )
            continue
        if normalized_file is None:
            problems.append(
                RowProblem(source, line, "audio_file", audio_file, "path is outside the input directory; row skipped")
            )
            continue
        values, extra = parse_fields(cells, source, line, problems)
        call_id = values.get("call_id")
        if isinstance(call_id, str) and call_id in seen_call_ids:
            problems.append(
                RowProblem(
                    source,
                    line,
                    "call_id",
                    cells["call_id"],
                    f"duplicate call_id (first on line {seen_call_ids[call_id]}); row skipped",
                )
            )
            continue
        if normalized_file in by_audio_file:
            first = by_audio_file[normalized_file].row
            problems.append(
                RowProblem(source, line, "audio_file", audio_file, f"same file as line {first}; row skipped")
            )
            continue
        # Only a row that is kept claims its call_id: a skipped row must not make a later one a duplicate.
        if isinstance(call_id, str):
            seen_call_ids[call_id] = line
        by_audio_file[normalized_file] = CallMetadata(
            audio_file=normalized_file,
            extra=extra,
            row=line,
            **values,  # type: ignore[arg-type]
        )
    return Metadata(by_audio_file=by_audio_file, problems=problems)
