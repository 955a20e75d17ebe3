"""The calls a run takes: every recording under a folder, in a date window, joined with its metadata row."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from qa_pipeline.intake.files import AUDIO_EXTENSIONS, readable_path
from qa_pipeline.intake.metadata import CallMetadata, Metadata, RowProblem


@dataclass(frozen=True)
class CallJob:
    call_id: str
    audio_path: str  # absolute, as the OS gives it: opens the file (audio.readable_path is how it is stored)
    relative_path: str  # relative to the input directory, as in the metadata CSV
    metadata: CallMetadata
    # What the call is scored from (qa_pipeline.run.plan); set once the file is hashed, stored in
    # calls.input_fingerprint so that the next run can tell an unchanged call from one to re-score.
    fingerprint: str | None = None


_DAYS_AGO = re.compile(r"-(\d+)d")


class DateWindowError(ValueError):
    """A date-window bound that is not a date: the message names the value and what is accepted."""


def parse_day(text: str, today: date | None = None) -> date:
    """A date-window bound: YYYY-MM-DD, `today`, `yesterday` or `-Nd` (N days before today)."""
    today = today or date.today()
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if match := _DAYS_AGO.fullmatch(value):
        return today - timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DateWindowError(f"date {text!r}: expected YYYY-MM-DD, today, yesterday or -Nd (N days ago)") from None


@dataclass(frozen=True)
class DateWindow:
    """The calls a run takes, by day (both ends inclusive; None = open). A call's day is the date of its
    metadata started_at (the switch's local time), else the day the file was last written (local time)."""

    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date | None = None) -> DateWindow:
        window = cls(parse_day(first, today) if first else None, parse_day(last, today) if last else None)
        if window.first and window.last and window.first > window.last:
            raise DateWindowError(f"date window starts {window.first} after it ends {window.last}")
        return window

    def __contains__(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def __str__(self) -> str:
        if self.first is None and self.last is None:
            return "all dates"
        return f"{self.first or '…'} to {self.last or '…'}"


def call_day(path: Path, meta: CallMetadata) -> date:
    """The day a call belongs to: its metadata start, else the file's modification time."""
    if meta.started_at is not None:
        return meta.started_at.date()
    return datetime.fromtimestamp(path.stat().st_mtime).date()


@dataclass(frozen=True)
class Batch:
    jobs: list[CallJob]
    problems: list[RowProblem]  # metadata rows with bad values (calls still processed)
    skipped: list[tuple[str, str]]  # (audio path, reason): listed but absent, or a duplicate call_id
    outside_window: int = 0  # recordings (and metadata rows) left out by the date window


def discover_calls(input_dir: Path | str, metadata: Metadata | None = None, window: DateWindow = DateWindow()) -> Batch:
    """Every audio file under `input_dir` (recursively, sorted) whose day is in `window`, joined with its
    metadata row."""
    root = Path(input_dir).resolve()
    rows = metadata.by_audio_file if metadata else {}
    problems = list(metadata.problems) if metadata else []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    jobs: list[CallJob] = []
    seen_ids: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    outside = 0
    for path in files:
        # The name as text (a GBK name from a Windows share read as such); the job opens `path` itself.
        relative = readable_path(path.relative_to(root).as_posix())
        meta = rows.get(relative, CallMetadata(audio_file=relative))
        if call_day(path, meta) not in window:
            outside += 1
            continue
        call_id = meta.call_id or os.path.splitext(relative)[0].replace("/", "_")
        if call_id in seen_ids:
            skipped.append((str(path), f"call_id {call_id!r} already used by {seen_ids[call_id]}; file skipped"))
            continue
        seen_ids[call_id] = relative
        jobs.append(CallJob(call_id, str(path), relative, meta))
    present = {job.relative_path for job in jobs}
    for relative, meta in rows.items():
        if relative not in present and not (root / relative).is_file():
            if meta.started_at is not None and meta.started_at.date() not in window:
                outside += 1
                continue
            skipped.append((str(root / relative), f"listed in metadata line {meta.row} but no such file"))
    return Batch(jobs, problems, skipped, outside)
