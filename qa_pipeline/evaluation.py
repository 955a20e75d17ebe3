"""How well the machine agrees with human labels: `qa-pipeline eval LABELS --db PATH`.

LABELS has the shape of sample_audio/labels.json: {"calls": [{"call_id", "checks": {check_id:
"pass" | "fail" | "na"}, "call_type", "inferred_satisfaction"?}, ...]}. Per check:

- compared: calls where the label or the machine gives a verdict (a check the machine applied but the
  label says does not apply is a disagreement, and the other way round);
- abstained: labelled calls without speaker attribution (diarization 'none'): the machine rightly
  refuses to judge the agent there; reported, not counted as agreement or disagreement;
- agreement = same verdict / compared;
- precision and recall of finding failures (the positive class is "fail": a problem a QA lead acts on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_pipeline.storage import QaDatabase


class LabelsError(ValueError):
    pass


@dataclass
class CheckAgreement:
    check_id: str
    compared: int = 0
    agreed: int = 0
    abstained: int = 0
    missing: int = 0  # labelled calls the database has no result for
    true_fail: int = 0
    false_fail: int = 0
    missed_fail: int = 0
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)  # (call_id, label, machine)

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def precision(self) -> float | None:
        flagged = self.true_fail + self.false_fail
        return self.true_fail / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        actual = self.true_fail + self.missed_fail
        return self.true_fail / actual if actual else None

    def add(self, call_id: str, label: str, machine: str) -> None:
        if machine == "missing":
            self.missing += 1
            return
        if machine == "abstain":
            self.abstained += 1
            return
        if label == "na" and machine == "na":
            return
        self.compared += 1
        if label == machine:
            self.agreed += 1
        else:
            self.disagreements.append((call_id, label, machine))
        if machine == "fail":
            if label == "fail":
                self.true_fail += 1
            else:
                self.false_fail += 1
        elif label == "fail":
            self.missed_fail += 1


@dataclass
class Evaluation:
    checks: dict[str, CheckAgreement]
    calls_labelled: int
    calls_found: int
    call_type: tuple[int, int]  # (inferred correctly, inferred) over calls whose type was inferred
    satisfaction: tuple[int, int]  # (inferred == label, inferred) over calls with an inferred score
    call_type_errors: list[tuple[str, str, str]] = field(default_factory=list)

    def below(self, min_agreement: float, min_precision: float, min_recall: float) -> list[str]:
        """Human-readable reasons this evaluation misses the thresholds (empty: all met)."""
        reasons = []
        for check in self.checks.values():
            for name, value, minimum in (
                ("agreement", check.agreement, min_agreement),
                ("precision", check.precision, min_precision),
                ("recall", check.recall, min_recall),
            ):
                if value is not None and value < minimum:
                    reasons.append(f"{check.check_id}: {name} {value:.3f} < {minimum}")
        return reasons


def load_labels(path: Path | str) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise LabelsError(f"{path}: cannot read labels: {error}") from error
    calls = data.get("calls") if isinstance(data, dict) else None
    if not isinstance(calls, list):
        raise LabelsError(f"{path}: expected an object with a 'calls' list")
    for index, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("call_id"), str):
            raise LabelsError(f"{path}: calls[{index}] has no call_id")
        checks = call.get("checks", {})
        if not isinstance(checks, dict) or any(v not in ("pass", "fail", "na") for v in checks.values()):
            raise LabelsError(f"{path}: calls[{index}] ({call['call_id']}): checks must map ids to pass/fail/na")
    return calls


def evaluate(labels_path: Path | str, db_path: Path | str, check_ids: list[str] | None = None) -> Evaluation:
    labels = load_labels(labels_path)
    call_ids = [call["call_id"] for call in labels]
    with QaDatabase(db_path, read_only=True) as db:
        _, call_rows = db.query(
            "SELECT call_id, diarization, call_type, call_type_source, satisfaction, satisfaction_source"
            " FROM calls WHERE call_id IN (SELECT unnest(?))",
            [call_ids],
        )
        _, result_rows = db.query(
            "SELECT call_id, check_id, applicable, passed FROM check_results WHERE call_id IN (SELECT unnest(?))",
            [call_ids],
        )
    calls = {row[0]: row for row in call_rows}
    machine: dict[tuple[str, str], str] = {}
    for call_id, check_id, applicable, passed in result_rows:
        if not applicable:
            machine[(call_id, check_id)] = "abstain" if calls[call_id][1] == "none" else "na"
        else:
            machine[(call_id, check_id)] = "pass" if passed else "fail"

    wanted = check_ids or sorted({cid for call in labels for cid in call.get("checks", {})})
    checks = {cid: CheckAgreement(cid) for cid in wanted}
    types_right = types_inferred = sat_right = sat_inferred = 0
    type_errors = []
    for call in labels:
        call_id = call["call_id"]
        for check_id in wanted:
            label = call.get("checks", {}).get(check_id)
            if label is not None:
                checks[check_id].add(call_id, label, machine.get((call_id, check_id), "missing"))
        row = calls.get(call_id)
        if row is None:
            continue
        _, _, call_type, type_source, satisfaction, satisfaction_source = row
        if type_source == "inferred" and call.get("call_type"):
            types_inferred += 1
            types_right += call_type == call["call_type"]
            if call_type != call["call_type"]:
                type_errors.append((call_id, call["call_type"], call_type))
        if satisfaction_source == "inferred" and call.get("inferred_satisfaction") is not None:
            sat_inferred += 1
            sat_right += satisfaction == call["inferred_satisfaction"]
    return Evaluation(
        checks=checks,
        calls_labelled=len(labels),
        calls_found=len(calls),
        call_type=(types_right, types_inferred),
        satisfaction=(sat_right, sat_inferred),
        call_type_errors=type_errors,
    )
