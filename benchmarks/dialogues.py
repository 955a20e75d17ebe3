"""How the checks do on dialogues this project did not write: agreement with independent labels, and false
alarms on real customer-service chats.

    python -m benchmarks.dialogues [--data ../shared/data] [--out benchmarks/results/dialogues.json]

1. ../shared/data/qa_dialogues/dialogues.jsonl (60 labelled phone dialogues of six organisations, written
   independently of this project; README there) goes through `qa-pipeline score`'s own path
   (run.transcript_file.score_transcript_file) twice: with the data set's eval_scorecard.toml (its six
   organisations, every script check on every call type), and with the same scorecard less its
   organisations (a center's first night). The dialogues have no times: each utterance lasts 4.5 characters
   a second with 0.6 s between utterances, as the data set's README says.
   Labels say whether a behaviour HAPPENED (true/false, null = the check does not arise); for the two
   violation checks (forbidden_phrase, casual_promise) true = the violation happened, i.e. the check fails.
   Per check, over the dialogues whose label is set: agreement, precision and recall of failures
   (evaluation.checks), the machine's abstentions (n/a where the label is set) and the disagreeing
   dialogues.
2. ../shared/data/real_dialogues/jddc (994 real JD.com chat sessions, agents' lines and customers') is
   scored with the default scorecard; how many sessions forbidden_phrase and casual_promise fail on, with
   what they quote (chats have no greeting or closing to judge: the script checks are not counted there).

The data is for measuring only: no sentence of it belongs in a phrase list, exemplar, fixture or test.
Writes the figures to --out and prints them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.evaluation.checks import evaluate
from qa_pipeline.kpis.database import open_reader
from qa_pipeline.run.transcript_file import score_transcript_file

REPO = Path(__file__).resolve().parent.parent
CHARS_PER_S = 4.5  # the data set's README: how long an utterance lasts
GAP_S = 0.6
VIOLATIONS = ("forbidden_phrase", "casual_promise")  # label true = the violation happened = the check fails
FALSE_ALARM_CHECKS = ("forbidden_phrase", "casual_promise")


def timed_segments(utterances: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """(speaker, text) in order -> segments with start_s/end_s at CHARS_PER_S and GAP_S apart."""
    segments, clock = [], 0.0
    for speaker, text in utterances:
        length = max(len(text) / CHARS_PER_S, 0.5)
        segments.append(
            {"speaker": speaker, "start_s": round(clock, 2), "end_s": round(clock + length, 2), "text": text}
        )
        clock += length + GAP_S
    return segments


def label_verdict(check_id: str, label: bool | None) -> str | None:
    """A data-set label as an `eval` verdict: pass | fail, None where the label is not set."""
    if label is None:
        return None
    happened = bool(label)
    if check_id in VIOLATIONS:
        return "fail" if happened else "pass"
    return "pass" if happened else "fail"


def qa_dialogue_files(dialogues: Path, folder: Path) -> tuple[Path, Path]:
    """The transcript file `score` reads and the labels file `eval` reads, written into `folder`."""
    transcripts, labels = folder / "dialogues.jsonl", folder / "labels.json"
    calls = []
    with transcripts.open("w", encoding="utf-8") as out:
        for line in dialogues.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            dialogue = json.loads(line)
            utterances = [(s["speaker"], s["text"]) for s in dialogue["segments"]]
            record = {
                "call_id": dialogue["call_id"],
                "metadata": dialogue.get("metadata", {}),
                "asr_model": "text",
                "segments": timed_segments(utterances),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            verdicts = {cid: label_verdict(cid, value) for cid, value in dialogue.get("labels", {}).items()}
            calls.append({"call_id": dialogue["call_id"], "checks": {k: v for k, v in verdicts.items() if v}})
    labels.write_text(json.dumps({"calls": calls}, ensure_ascii=False), encoding="utf-8")
    return transcripts, labels


def without_organisations(scorecard: Path, folder: Path) -> Path:
    """The same scorecard with [center].organisations emptied: a center that has not configured its names."""
    data = tomllib.loads(scorecard.read_text(encoding="utf-8"))
    lines = ["[center]", "organisations = []"]
    for check_id, table in data.get("checks", {}).items():
        lines.append(f"[checks.{check_id}]")
        lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in table.items()]
    path = folder / "no_organisations.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def unlabelled_judged(dialogues: Path, db: Path) -> dict[str, tuple[int, int]]:
    """Per check with null labels (the behaviour did not arise: no upset, settled on the call, nothing out
    of the agent's hands): (dialogues the machine still judged, dialogues labelled null). A check that
    applies where nothing called for it can fail an agent for nothing; agreement alone cannot show that."""
    unlabelled: dict[str, set[str]] = defaultdict(set)
    for line in dialogues.read_text(encoding="utf-8").splitlines():
        if line.strip():
            dialogue = json.loads(line)
            for check_id, label in dialogue.get("labels", {}).items():
                if label is None:
                    unlabelled[check_id].add(dialogue["call_id"])
    with open_reader(db) as reader:
        _, rows = reader.query("SELECT check_id, call_id FROM check_results WHERE applicable")
    judged = {(check_id, call_id) for check_id, call_id in rows}
    return {
        check_id: (sum((check_id, call) in judged for call in calls), len(calls))
        for check_id, calls in sorted(unlabelled.items())
    }


def agreement_table(labels: Path, db: Path, dialogues: Path | None = None) -> dict[str, dict[str, Any]]:
    evaluation = evaluate(labels, db)
    unlabelled = unlabelled_judged(dialogues, db) if dialogues else {}
    table = {}
    for check_id, check in sorted(evaluation.checks.items()):
        abstained = [call for call, _, machine in check.disagreements if machine == "na"] + [
            "(no speakers)"
        ] * check.abstained
        labelled = check.compared + check.abstained
        table[check_id] = {
            "labelled": labelled,
            "agreement": check.agreement,
            "precision": check.precision,
            "recall": check.recall,
            "abstained": len(abstained),
            "abstention_share": len(abstained) / labelled if labelled else None,
            # (judged, labelled null): the check applied where the label says the behaviour did not arise
            "judged_unlabelled": unlabelled.get(check_id),
            "disagreements": [
                f"{call} label {label}, machine {machine}" for call, label, machine in check.disagreements
            ],
        }
    return table


def jddc_transcripts(chat: Path, out: Path) -> int:
    """JDDC chat sessions -> a transcript file (agent = waiter_send 1), inbound. Returns the sessions."""
    sessions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in chat.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 7 or not parts[6].strip():
            continue
        sessions[parts[0]].append(("agent" if parts[2] == "1" else "customer", parts[6].strip()))
    with out.open("w", encoding="utf-8") as handle:
        for number, (_, utterances) in enumerate(sorted(sessions.items()), start=1):
            record = {
                "call_id": f"jddc_{number:04d}",
                "metadata": {"direction": "inbound"},
                "asr_model": "text",
                "segments": timed_segments(utterances),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(sessions)


def false_alarms(db: Path, sessions: int) -> dict[str, dict[str, Any]]:
    with open_reader(db) as reader:
        _, rows = reader.query(
            "SELECT check_id, call_id, evidence_text FROM check_results"
            " WHERE applicable AND NOT passed AND check_id IN (SELECT unnest(?)) ORDER BY check_id, call_id",
            [list(FALSE_ALARM_CHECKS)],
        )
    found: dict[str, dict[str, Any]] = {
        cid: {"sessions": sessions, "fired": 0, "firings": []} for cid in FALSE_ALARM_CHECKS
    }
    for check_id, call_id, evidence in rows:
        found[check_id]["fired"] += 1
        found[check_id]["firings"].append(f"{call_id}: {evidence}")
    for entry in found.values():
        entry["share"] = entry["fired"] / sessions if sessions else None
    return found


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "dialogues.json")
    parser.add_argument("--no-chats", action="store_true", help="skip the real chats (3 minutes): agreement only")
    args = parser.parse_args(argv)
    qa = args.data / "qa_dialogues"
    if not (qa / "dialogues.jsonl").is_file():
        parser.error(f"{qa / 'dialogues.jsonl'}: no such file (--data names the shared data folder)")
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        transcripts, labels = qa_dialogue_files(qa / "dialogues.jsonl", folder)
        for name, scorecard_path in (
            ("configured", qa / "eval_scorecard.toml"),
            ("no_organisations", without_organisations(qa / "eval_scorecard.toml", folder)),
        ):
            db = folder / f"{name}.duckdb"
            started = time.perf_counter()
            summary = score_transcript_file(transcripts, db, load_scorecard(scorecard_path))
            results[f"qa_dialogues_{name}"] = {
                "dialogues": summary.calls_ok,
                "failed": summary.calls_failed,
                "seconds": round(time.perf_counter() - started, 1),
                "checks": agreement_table(labels, db, qa / "dialogues.jsonl"),
            }
        chat = args.data / "real_dialogues" / "jddc" / "chat_0.1per.txt"
        if chat.is_file() and not args.no_chats:
            sessions = jddc_transcripts(chat, folder / "jddc.jsonl")
            db = folder / "jddc.duckdb"
            started = time.perf_counter()
            score_transcript_file(folder / "jddc.jsonl", db, load_scorecard())
            results["jddc"] = {"seconds": round(time.perf_counter() - started, 1), "checks": false_alarms(db, sessions)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")

    for name in ("configured", "no_organisations"):
        run = results[f"qa_dialogues_{name}"]
        label = name.replace("_", " ")
        print(f"\nqa_dialogues, organisations {label}: {run['dialogues']} dialogues in {run['seconds']} s")
        print(f"{'check':24} {'labelled':>8} {'agree':>7} {'prec':>7} {'recall':>7} {'abstain':>8}  judged where null")
        for check_id, row in run["checks"].items():
            unlabelled = row["judged_unlabelled"]
            print(
                f"{check_id:24} {row['labelled']:>8} {_shown(row['agreement']):>7} {_shown(row['precision']):>7}"
                f" {_shown(row['recall']):>7} {_shown(row['abstention_share']):>8}"
                f"  {f'{unlabelled[0]} of {unlabelled[1]}' if unlabelled else ''}"
            )
        shares = [row["agreement"] for row in run["checks"].values() if row["agreement"] is not None]
        print(f"mean agreement {sum(shares) / len(shares):.3f}" if shares else "")
    if "jddc" in results:
        print(f"\nreal JD.com chats ({results['jddc']['seconds']} s):")
        for check_id, row in results["jddc"]["checks"].items():
            print(f"{check_id:24} fired on {row['fired']} of {row['sessions']} sessions ({_shown(row['share'])})")
            for firing in row["firings"]:
                print(f"    {firing}")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
