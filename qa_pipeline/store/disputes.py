"""Agents' disputes of verdicts and QA leads' rulings (tables disputes, review_acknowledgements): written by
the review application (qa_pipeline.serve), read by its pages and by QaDatabase.add_review, which refuses a
review of a verdict ruled final."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qa_pipeline.store.database import VERDICTS, ReviewError

if TYPE_CHECKING:
    from qa_pipeline.store.database import QaDatabase

RULINGS = ("upheld", "overturned")


@dataclass(frozen=True)
class Dispute:
    dispute_id: int
    call_id: str
    check_id: str
    agent_id: str
    disputed_verdict: str
    note: str
    opened_by: str
    opened_at: datetime
    ruling: str | None
    final_verdict: str | None
    ruled_by: str | None
    ruling_note: str | None
    ruled_at: datetime | None


_COLUMNS = (
    "dispute_id, call_id, check_id, agent_id, disputed_verdict, note, opened_by, opened_at, ruling, final_verdict,"
    " ruled_by, ruling_note, ruled_at"
)


def disputes(db: QaDatabase, *, call_id: str | None = None, dispute_id: int | None = None) -> list[Dispute]:
    where = ["TRUE"]
    params: list[object] = []
    if dispute_id is not None:
        where.append("dispute_id = ?")
        params.append(dispute_id)
    if call_id is not None:
        where.append("call_id = ?")
        params.append(call_id)
    _, rows = db.query(
        f"SELECT {_COLUMNS} FROM disputes WHERE {' AND '.join(where)} ORDER BY opened_at, dispute_id", params
    )
    return [Dispute(*row) for row in rows]


def open_dispute(db: QaDatabase, call_id: str, check_id: str, agent_id: str, opened_by: str, note: str) -> Dispute:
    """An agent disputes the verdict in force on one check of their own call, saying why."""
    from qa_pipeline.privacy.protect import protect_message

    if not note.strip():
        raise ReviewError("a dispute needs a note saying why the verdict is wrong")
    found = db.connection.execute(
        "SELECT c.agent_id, CASE WHEN NOT v.applicable THEN 'na' WHEN v.passed THEN 'pass' ELSE 'fail' END"
        " FROM check_verdicts AS v JOIN calls AS c USING (call_id) WHERE v.call_id = ? AND v.check_id = ?",
        [call_id, check_id],
    ).fetchone()
    if found is None:
        raise ReviewError(f"call {call_id!r} has no result for check {check_id!r}")
    if found[0] != agent_id:
        raise ReviewError(f"call {call_id!r} was not taken by agent {agent_id!r}")
    if final := db.final_ruling(call_id, check_id):
        raise ReviewError(f"{check_id} on {call_id} was ruled final (dispute {final}): it cannot be disputed again")
    if any(d.check_id == check_id and d.ruling is None for d in disputes(db, call_id=call_id)):
        raise ReviewError(f"{check_id} on {call_id} is already disputed and waits for a ruling")
    row = db.connection.execute(
        f"INSERT INTO disputes (call_id, check_id, agent_id, disputed_verdict, note, opened_by, opened_at)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        [call_id, check_id, agent_id, found[1], protect_message(note.strip()), opened_by, datetime.now()],
    ).fetchone()
    assert row is not None
    return Dispute(*row)


def rule(db: QaDatabase, dispute_id: int, ruling: str, ruled_by: str, note: str, verdict: str | None = None) -> Dispute:
    """A lead's final word on an open dispute: upheld keeps the disputed verdict, overturned gives `verdict`
    (by default the opposite of a pass or fail). Written as the lead's review, which KPIs then use."""
    from qa_pipeline.privacy.protect import protect_message

    if ruling not in RULINGS:
        raise ReviewError(f"ruling must be one of {', '.join(RULINGS)}, got {ruling!r}")
    if not note.strip():
        raise ReviewError("a ruling needs a note saying why")
    found = disputes(db, dispute_id=dispute_id)
    if not found:
        raise ReviewError(f"no dispute {dispute_id}")
    dispute = found[0]
    if dispute.ruling is not None:
        raise ReviewError(f"dispute {dispute_id} was ruled already ({dispute.ruling} by {dispute.ruled_by}): final")
    if ruling == "upheld":
        final = dispute.disputed_verdict
    else:
        final = verdict or {"fail": "pass", "pass": "fail"}.get(dispute.disputed_verdict, "")
        if final not in VERDICTS or final == dispute.disputed_verdict:
            raise ReviewError(f"overturning a {dispute.disputed_verdict} verdict needs the verdict it becomes")
    review = db.add_review(
        dispute.call_id, dispute.check_id, final, ruled_by, f"ruling on dispute {dispute_id}: {note}"
    )
    row = db.connection.execute(
        f"UPDATE disputes SET ruling = ?, final_verdict = ?, ruled_by = ?, ruling_note = ?, ruled_at = ?, review_id = ?"
        f" WHERE dispute_id = ? RETURNING {_COLUMNS}",
        [ruling, final, ruled_by, protect_message(note.strip()), datetime.now(), review.review_id, dispute_id],
    ).fetchone()
    assert row is not None
    return Dispute(*row)


def acknowledge(db: QaDatabase, review_id: int, agent_id: str, by: str) -> None:
    """An agent has read a review of their own call."""
    found = db.connection.execute(
        "SELECT c.agent_id FROM reviews AS r JOIN calls AS c USING (call_id) WHERE r.review_id = ?", [review_id]
    ).fetchone()
    if found is None or found[0] != agent_id:
        raise ReviewError(f"review {review_id} is not of a call of agent {agent_id!r}")
    db.connection.execute(
        "INSERT INTO review_acknowledgements VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [review_id, agent_id, by, datetime.now()],
    )
