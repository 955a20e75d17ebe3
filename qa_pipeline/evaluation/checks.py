"""How well the machine agrees with human labels: `qa-pipeline eval LABELS --db PATH`.

LABELS has the shape of sample_audio/labels.json: {"calls": [{"call_id", "checks": {check_id:
"pass" | "fail" | "na"}, "call_type", "inferred_satisfaction"?}, ...]}. Per check:

- compared: calls where the label or the machine gives a verdict (a check the machine applied but the
  label says does not apply is a disagreement, and the other way round);
- abstained: labelled calls without speaker attribution (diarization 'none', or a diarized mono call
  whose roles could not be told apart), and checks one channel per party shows best
  (`needs_own_channels`: overtalk) where they are not applicable on a mono call (no roles, or an overlap
  the turns could not tell): the machine rightly refuses to judge there;
  reported, not counted as agreement or disagreement;
- agreement = same verdict / compared;
- precision and recall of finding failures (the positive class is "fail": a problem a QA lead acts on).

Calls whose label has a "timing" object are also compared on their measured timings (`TIMING_TOLERANCES`):
ring_count exactly on calls with ringback, answer_s and time_to_topic_s within 0.5 s, talk_s within 1 s,
the number of interruptions exactly where the machine could measure overlap (stereo, and mono with speaker
roles), and the direction
on calls whose metadata left it out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_pipeline.checks import REGISTRY
from qa_pipeline.kpis.database import open_reader


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


# name -> allowed absolute difference between machine and label (0: exact).
TIMING_TOLERANCES: dict[str, float] = {
    "ring_count": 0,
    "answer_s": 0.5,
    "talk_s": 1.0,
    "time_to_topic_s": 0.5,
    "interruptions": 0,
    "direction": 0,
}


@dataclass
class TimingAgreement:
    name: str
    tolerance: float
    compared: int = 0
    within: int = 0
    max_error: float = 0.0
    misses: list[tuple[str, Any, Any]] = field(default_factory=list)  # (call_id, label, machine)

    @property
    def share(self) -> float | None:
        return self.within / self.compared if self.compared else None

    def add(self, call_id: str, label: Any, machine: Any) -> None:
        self.compared += 1
        if isinstance(label, int | float) and isinstance(machine, int | float):
            error = abs(float(machine) - float(label))
            self.max_error = max(self.max_error, error)
            ok = error <= self.tolerance + 1e-9
        else:
            ok = label == machine
        if ok:
            self.within += 1
        else:
            self.misses.append((call_id, label, machine))


def _timing(labels: list[dict[str, Any]], rows: dict[str, dict[str, Any]]) -> dict[str, TimingAgreement]:
    """Machine timings against the labels' "timing" objects (see TIMING_TOLERANCES)."""
    found = {name: TimingAgreement(name, tolerance) for name, tolerance in TIMING_TOLERANCES.items()}
    for call in labels:
        timing, row = call.get("timing"), rows.get(call["call_id"])
        if not isinstance(timing, dict) or row is None:
            continue
        call_id = call["call_id"]
        if timing.get("ringback"):
            found["ring_count"].add(call_id, timing.get("ring_count"), row["ring_count"])
        if "answer_s" in timing:
            found["answer_s"].add(call_id, timing["answer_s"], row["answer_s"])
        if "talk_s" in timing:
            found["talk_s"].add(call_id, timing["talk_s"], row["talk_s"])
        if timing.get("time_to_topic_s") is not None and row["diarization"] != "none":
            found["time_to_topic_s"].add(call_id, timing["time_to_topic_s"], row["time_to_topic_s"])
        if row["interruptions"] is not None and "interruptions" in timing:
            found["interruptions"].add(call_id, len(timing["interruptions"]), row["interruptions"])
        if call.get("direction_in_metadata") is False and call.get("direction"):
            found["direction"].add(call_id, call["direction"], row["direction"])
    return {name: agreement for name, agreement in found.items() if agreement.compared}


@dataclass
class Evaluation:
    checks: dict[str, CheckAgreement]
    calls_labelled: int
    calls_found: int
    call_type: tuple[int, int]  # (inferred correctly, inferred) over calls whose type was inferred
    satisfaction: tuple[int, int]  # (inferred == label, inferred) over calls with an inferred score
    call_type_errors: list[tuple[str, str, str]] = field(default_factory=list)
    timing: dict[str, TimingAgreement] = field(default_factory=dict)
    missing_calls: list[str] = field(default_factory=list)  # labelled calls the database does not hold

    def below(
        self,
        min_agreement: float,
        min_precision: float,
        min_recall: float,
        min_timing: float = 0.0,
        max_missing: int = 0,
    ) -> list[str]:
        """Human-readable reasons this evaluation misses the thresholds (empty: all met). Labelled calls missing
        from the database are a reason of their own: an agreement over 3 of 25 calls says nothing of the 22."""
        reasons = []
        if len(self.missing_calls) > max_missing:
            shown = ", ".join(self.missing_calls[:5]) + (", …" if len(self.missing_calls) > 5 else "")
            reasons.append(
                f"{len(self.missing_calls)} of {self.calls_labelled} labelled calls are not in the database"
                f" ({shown}; at most {max_missing} may be missing)"
            )
        for timing in self.timing.values():
            if timing.share is not None and timing.share < min_timing:
                reasons.append(f"{timing.name}: within tolerance on {timing.share:.3f} < {min_timing}")
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
    with open_reader(db_path) as db:
        _, call_rows = db.query(
            "SELECT call_id, diarization, call_type, call_type_source, satisfaction, satisfaction_source"
            " FROM calls WHERE call_id IN (SELECT unnest(?))",
            [call_ids],
        )
        timing_columns, timing_rows = db.query(
            "SELECT call_id, diarization, ring_count, answer_s, talk_s, time_to_topic_s, interruptions, direction"
            " FROM calls WHERE call_id IN (SELECT unnest(?))",
            [call_ids],
        )
        _, result_rows = db.query(
            "SELECT call_id, check_id, applicable, passed FROM check_results WHERE call_id IN (SELECT unnest(?))",
            [call_ids],
        )
        _, attributed_rows = db.query(
            "SELECT DISTINCT call_id FROM segments WHERE speaker IN ('agent', 'customer')"
            " AND call_id IN (SELECT unnest(?))",
            [call_ids],
        )
    calls = {row[0]: row for row in call_rows}
    attributed = {call_id for (call_id,) in attributed_rows}
    machine: dict[tuple[str, str], str] = {}
    for call_id, check_id, applicable, passed in result_rows:
        if not applicable:
            unattributed = calls[call_id][1] == "none" or call_id not in attributed
            check = REGISTRY.get(check_id)
            mixed = calls[call_id][1] not in ("channel", "external") and check is not None and check.needs_own_channels
            machine[(call_id, check_id)] = "abstain" if unattributed or mixed else "na"
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
        missing_calls=[call_id for call_id in call_ids if call_id not in calls],
        call_type=(types_right, types_inferred),
        satisfaction=(sat_right, sat_inferred),
        call_type_errors=type_errors,
        timing=_timing(labels, {row[0]: dict(zip(timing_columns, row, strict=True)) for row in timing_rows}),
    )
