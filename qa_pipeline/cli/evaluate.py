"""`eval` (machine verdicts against a labels file) and `eval-diarization` (DER and role accuracy on mono audio).

The pipeline modules are imported inside the functions that use them so that `qa-pipeline --help` does not
load them (diarization pulls in torch)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from qa_pipeline.cli.common import console, fail, make_table
from qa_pipeline.cli.options import check_diarization


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def cmd_eval(args: argparse.Namespace) -> int:
    from qa_pipeline.evaluation.checks import LabelsError, evaluate

    try:
        result = evaluate(args.labels, args.db, args.check or None)
    except LabelsError as error:
        return fail(str(error))
    rows = [
        (
            c.check_id,
            c.compared,
            c.agreed,
            _rate(c.agreement),
            _rate(c.precision),
            _rate(c.recall),
            c.abstained,
            c.missing,
            ", ".join(f"{cid} {label}->{machine}" for cid, label, machine in c.disagreements[:4]),
        )
        for c in result.checks.values()
    ]
    console.print(
        make_table(
            f"Machine vs labels ({result.calls_found} of {result.calls_labelled} labelled calls in the database)",
            [
                "check",
                "compared",
                "agreed",
                "agreement",
                "precision(fail)",
                "recall(fail)",
                "abstained",
                "missing",
                "disagreements",
            ],
            rows,
        )
    )
    right, inferred = result.call_type
    if inferred:
        console.print(f"call type inferred correctly on {right} of {inferred} calls {result.call_type_errors or ''}")
    right, inferred = result.satisfaction
    if inferred:
        console.print(f"inferred satisfaction equals the label on {right} of {inferred} calls")
    if result.timing:
        timing_rows = [
            (
                t.name,
                "exact" if t.tolerance == 0 else f"±{t.tolerance:g} s",
                t.compared,
                t.within,
                _rate(t.share),
                "" if t.tolerance == 0 else f"{t.max_error:.2f}",
                ", ".join(f"{cid} {label}->{machine}" for cid, label, machine in t.misses[:4]),
            )
            for t in result.timing.values()
        ]
        console.print(
            make_table(
                "Timings vs labels",
                ["measure", "tolerance", "compared", "within", "share", "max error", "misses"],
                timing_rows,
            )
        )
    problems = result.below(args.min_agreement, args.min_precision, args.min_recall, args.min_timing, args.max_missing)
    for problem in problems:
        console.print(f"[red]below threshold:[/red] {problem}")
    return 1 if problems else 0


def cmd_eval_diarization(args: argparse.Namespace) -> int:
    from qa_pipeline.asr.diarize import DiarizationSettings
    from qa_pipeline.evaluation.checks import LabelsError
    from qa_pipeline.evaluation.diarization import DiarizationReport, run_evaluation

    labels = Path(args.labels) if args.labels else None
    data = Path(args.data) if args.data else None
    try:
        check_diarization(args.diarization, args.pyannote_pipeline)
        if labels is not None and not labels.is_file():
            raise FileNotFoundError(f"labels file {labels} does not exist")
        if data is not None and not data.is_dir():
            raise FileNotFoundError(f"diarization data directory {data} does not exist")
    except (ValueError, FileNotFoundError) as error:
        return fail(str(error))
    settings = DiarizationSettings(
        backend=args.diarization, pyannote_pipeline=args.pyannote_pipeline, device=args.device
    )
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="qa-diarization-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = run_evaluation(
            labels, data, work, settings, Path(args.stereo_db) if args.stereo_db else None, not args.skip_ami
        )
    except LabelsError as error:
        return fail(str(error))
    console.print(make_table(f"Diarization ({report.backend}), {report.day}", DiarizationReport.COLUMNS, report.rows()))
    for dataset in report.datasets:
        worst = sorted(dataset.per_file, key=lambda row: row[1], reverse=True)[:5]
        console.print(
            f"{dataset.name}: worst DER@0.25 "
            + ", ".join(f"{name} {der:.1%} ({n} voices, conf {c:.2f})" for name, der, n, c in worst)
        )
        if dataset.check_agreement is not None:
            stereo = dataset.stereo_check_agreement
            console.print(
                f"{dataset.name}: agent-side checks agree with the labels on {dataset.check_agreement:.1%}"
                + (f" (stereo originals {stereo:.1%})" if stereo is not None else "")
            )
    if args.markdown:
        Path(args.markdown).write_text(report.markdown(), encoding="utf-8")
        console.print(f"table written to {args.markdown}")
    misses = []
    calls = next((d for d in report.datasets if d.role_accuracy), None)
    if calls is not None:
        der = calls.der.get(0.25)
        if args.max_der is not None and der is not None and der > args.max_der:
            misses.append(f"DER {der:.3f} > {args.max_der} on {calls.name}")
        role_accuracy = calls.role_accuracy.get(0.25, 0.0)
        if args.min_role_accuracy is not None and role_accuracy < args.min_role_accuracy:
            misses.append(f"role accuracy (collar 0.25) {role_accuracy:.3f} < {args.min_role_accuracy}")
        if (
            args.max_check_gap is not None
            and calls.check_agreement is not None
            and calls.stereo_check_agreement is not None
            and calls.stereo_check_agreement - calls.check_agreement > args.max_check_gap
        ):
            misses.append(
                f"agent-side check agreement {calls.check_agreement:.3f} is more than {args.max_check_gap} below "
                f"stereo {calls.stereo_check_agreement:.3f}"
            )
    for miss in misses:
        console.print(f"[red]below threshold:[/red] {miss}")
    return 1 if misses else 0


def add_eval_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluation = sub.add_parser("eval", help="per-check agreement, precision and recall against a labels file")
    evaluation.add_argument("labels", metavar="LABELS", help="labels JSON (the format of sample_audio/labels.json)")
    evaluation.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run or score")
    evaluation.add_argument("--check", action="append", metavar="ID", help="only these checks (repeatable)")
    evaluation.add_argument(
        "--min-agreement",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's agreement is below X (0-1)",
    )
    evaluation.add_argument(
        "--min-precision",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's precision in finding failures is below X",
    )
    evaluation.add_argument(
        "--min-recall",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's recall of failures is below X",
    )
    evaluation.add_argument(
        "--min-timing",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when the share of calls whose timing is within tolerance of the label is below X for any"
        " measure (ring_count, answer_s, talk_s, time_to_topic_s, interruptions, direction)",
    )
    evaluation.add_argument(
        "--max-missing",
        type=int,
        default=0,
        metavar="N",
        help="exit 1 when more than N labelled calls are not in the database (default: 0: every labelled call"
        " must have been scored, or the figures describe only part of the set)",
    )
    evaluation.set_defaults(func=cmd_eval)


def add_eval_diarization_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diarization = sub.add_parser(
        "eval-diarization",
        help="DER and role accuracy of mono diarization (sample calls mixed to mono, real 2-speaker and meeting audio)",
    )
    diarization.add_argument(
        "--labels", metavar="LABELS", help="sample-call labels (sample_audio/labels.json): mixed to mono and run"
    )
    diarization.add_argument(
        "--data",
        metavar="DIR",
        help="folder with pyannote_sample/ and ami_debug/ (wav + RTTM), e.g. ../shared/data/diarization",
    )
    diarization.add_argument(
        "--diarization",
        choices=["auto", "embedded", "pyannote"],
        default="auto",
        help="backend to measure, as for `run` (default: auto)",
    )
    diarization.add_argument("--pyannote-pipeline", metavar="DIR_OR_NAME", help="as for `run`")
    diarization.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="as for `run` (default: auto)"
    )
    diarization.add_argument(
        "--work-dir", metavar="DIR", help="where the mono copies and their DuckDB go (default: temp)"
    )
    diarization.add_argument(
        "--stereo-db", metavar="PATH", help="database of the stereo originals (`make run`): compare check agreement"
    )
    diarization.add_argument("--skip-ami", action="store_true", help="leave out the meeting recordings")
    diarization.add_argument("--markdown", metavar="FILE", help="also write the table, date and commit as Markdown")
    diarization.add_argument("--max-der", type=float, metavar="X", help="exit 1 if sample-call DER@0.25 is above X")
    diarization.add_argument(
        "--min-role-accuracy",
        type=float,
        metavar="X",
        help="exit 1 if sample-call role accuracy (collar 0.25) is below X",
    )
    diarization.add_argument(
        "--max-check-gap",
        type=float,
        metavar="X",
        help="exit 1 if mono agent-side check agreement is more than X below the stereo one (needs --stereo-db)",
    )
    diarization.set_defaults(func=cmd_eval_diarization)
