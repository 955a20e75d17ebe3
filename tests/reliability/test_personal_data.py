"""Personal data, end to end: synthetic calls in which the customer says a phone number (幺三八…), an
ID-card number, a bank-card number, an address and a name go through the real flow (whisper base); then
every text cell of every table, the report, the run's logs and its Prefect artifacts are searched for the
seeded values and for any long run of digits, written or spoken.

The seeded values are listed in personal_data/secrets.json (all invented; the calls are TTS).
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from qa_pipeline.audio.decode import decode_audio
from qa_pipeline.text.numbers import digits_of
from tests.reliability.conftest import Ledger

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent / "personal_data"
SECRETS = json.loads((HERE / "secrets.json").read_text(encoding="utf-8"))
LONG_DIGITS = re.compile(r"\d{7,}")  # a phone number without its area code is 7 digits
# Run ids, flow-run UUIDs and digests in log lines and artifacts: random digits, not personal data.
HEX_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{16,64}\b")
# Identifiers that are hex digests or UUIDs: random runs of decimal digits, not personal data.
IDENTIFIER_COLUMNS = {"run_id", "flow_run_id", "audio_sha256", "scorecard_hash", "input_fingerprint"}
# Where the transcript's words end up: any long digit run there is personal data.
# Words as said: where even a short address number (128) is the customer's.
SPOKEN_COLUMNS = {("segments", "text"), ("check_results", "evidence_text"), ("call_events", "text")}
TEXT_COLUMNS = {
    ("segments", "text"),
    ("check_results", "evidence_text"),
    ("check_results", "detail"),
    ("call_events", "text"),
    ("calls", "extra"),
    ("calls", "caller_number"),
    ("failures", "error"),
}


def seeded_values(short: bool = True) -> list[tuple[str, str]]:
    """(kind, what must never be stored): every number the customers said, as digits; names as said.
    `short`: with the 3-4 digit groups of the addresses (128, 502), which only mean something in what was
    said: elsewhere (a timing in an artifact, a count in the report) 128 is just a number."""
    values: list[tuple[str, str]] = []
    for entries in SECRETS["calls"].values():
        for entry in entries:
            digits = entry.get("digits")
            if entry["kind"] == "name":
                if len(str(digits)) >= 2:  # a full name; a lone surname (王先生) is too common a character
                    values.append(("name", str(digits)))
            elif isinstance(digits, list):
                values.extend((entry["kind"], group) for group in digits if len(group) >= 3 and short)
            elif digits:
                values.append((entry["kind"], str(digits)))
    with open(HERE / "calls.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("caller_number"):
                values.append(("caller_number", re.sub(r"\D", "", row["caller_number"])[-11:]))
    return values


def leaks(text: str, values: list[tuple[str, str]], generic: bool) -> list[str]:
    """What of `text` is unredacted personal data: a seeded value (digits normalised: spoken and full-width
    digits, separators removed), or with `generic` any run of 7+ digits."""
    digits = digits_of(HEX_IDS.sub("<id>", text))
    squeezed = re.sub(r"[\s\-—－,，、]", "", digits)
    found = [f"{kind} {value}" for kind, value in values if value in squeezed or value in text]
    if generic:
        found += [f"digits {run}" for run in LONG_DIGITS.findall(digits)]
    return found


def decode_audio_bytes(data: bytes) -> np.ndarray:
    """Ogg/Opus bytes (the report's data URI) as 16 kHz float samples, one row per channel."""
    with tempfile.NamedTemporaryFile(suffix=".ogg") as handle:
        handle.write(data)
        handle.flush()
        return decode_audio(handle.name).samples


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@dataclass
class PersonalDataRun:
    input_dir: Path
    db_path: Path
    summary: Any
    flow_run_id: Any
    logs: list[str] = field(default_factory=list)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def pd_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PersonalDataRun]:
    """The three calls and their metadata, plus what a CRM export adds: an unknown column holding a phone
    number and a bad survey cell quoting one; no salt in the environment (the salt file is made)."""
    from qa_pipeline.run.flow import qa_batch

    root = tmp_path_factory.mktemp("personal_data")
    input_dir = root / "calls"
    input_dir.mkdir()
    for wav in HERE.glob("*.wav"):
        shutil.copy(wav, input_dir / wav.name)
    with open(HERE / "calls.csv", encoding="utf-8") as source, open(root / "calls.csv", "w", encoding="utf-8") as out:
        rows = list(csv.DictReader(source))
        writer = csv.DictWriter(out, [*rows[0].keys(), "survey_score", "contact_note"], lineterminator="\n")
        writer.writeheader()
        for n, row in enumerate(rows):
            writer.writerow(
                {**row, "survey_score": "13912345678" if n == 0 else "", "contact_note": "回电 139-1234-5678"}
            )
    lines: list[str] = []
    handler = _Collect(lines)
    loggers = [logging.getLogger(name) for name in ("prefect", "qa_pipeline", "")]
    for logger in loggers:
        logger.addHandler(handler)
    salt = os.environ.pop("QA_PIPELINE_SALT", None)
    try:
        state = qa_batch(
            input_dir=str(input_dir),
            db_path=str(root / "qa.duckdb"),
            metadata_csv=str(root / "calls.csv"),
            device="cpu",
            return_state=True,
        )
    finally:
        if salt is not None:
            os.environ["QA_PIPELINE_SALT"] = salt
        for logger in loggers:
            logger.removeHandler(handler)
    yield PersonalDataRun(input_dir, root / "qa.duckdb", state.result(), state.state_details.flow_run_id, lines)


def test_every_call_is_scored(pd_run: PersonalDataRun) -> None:
    assert pd_run.summary.calls_ok == len(SECRETS["calls"]) and pd_run.summary.calls_failed == 0


def test_no_seeded_value_or_long_number_is_stored(pd_run: PersonalDataRun, ledger: Ledger) -> None:
    values, long_values = seeded_values(), seeded_values(short=False)
    found: list[str] = []
    scanned = 0
    with duckdb.connect(str(pd_run.db_path), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main'"
            " AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
        ).fetchall()
        for table, column in columns:
            if column in IDENTIFIER_COLUMNS:
                continue
            cells = con.execute(f'SELECT "{column}"::VARCHAR FROM {table} WHERE "{column}" IS NOT NULL').fetchall()
            for (value,) in cells:
                scanned += 1
                spoken = (table, column) in SPOKEN_COLUMNS
                found += [
                    f"{table}.{column}: {leak}"
                    for leak in leaks(value, values if spoken else long_values, generic=(table, column) in TEXT_COLUMNS)
                ]
    ledger.numbers_scanned += scanned
    ledger.unredacted += len(found)
    assert scanned > 100
    assert found == []


def test_each_kind_of_personal_data_was_found_and_masked(pd_run: PersonalDataRun) -> None:
    """The test above can only pass for the right reason if the ASR wrote the numbers and names and the
    redactor masked them: every seeded kind shows in `redactions`, with the seconds it was said."""
    kinds = dict(pd_run.query("SELECT kind, count(*) FROM redactions GROUP BY kind"))
    # The ASR dropped three digits of the ID-card number (15 characters left): masked as a plain number.
    assert {"phone", "bank_card", "address", "name", "number"} <= set(kinds), kinds
    per_call = pd_run.query(
        "SELECT call_id, count(*) FILTER (kind IN ('phone', 'id_card', 'bank_card', 'number')),"
        " count(*) FILTER (kind = 'name') FROM redactions WHERE location LIKE 'segments:%' GROUP BY call_id"
        " ORDER BY call_id"
    )
    assert [call_id for call_id, numbers, names in per_call if numbers >= 1 and names >= 2] == sorted(SECRETS["calls"])
    timed = pd_run.query(
        "SELECT count(*) FILTER (start_s IS NOT NULL AND end_s > start_s), count(*) FROM redactions"
        " WHERE location LIKE 'segments:%'"
    )
    assert timed[0][0] == timed[0][1] > 0
    masked = [text for (text,) in pd_run.query("SELECT text FROM segments WHERE text LIKE '%*%'")]
    assert len(masked) >= len(SECRETS["calls"])


def test_caller_numbers_are_hashed_and_still_link_a_customers_calls(pd_run: PersonalDataRun) -> None:
    numbers = dict(pd_run.query("SELECT call_id, caller_number FROM calls"))
    assert all(re.fullmatch(r"h:[0-9a-f]{32}", value) for value in numbers.values()), numbers
    # pd_001 and pd_003 come from one number written two ways; pd_002 from another.
    assert numbers["pd_001"] == numbers["pd_003"] != numbers["pd_002"]
    keys = dict(pd_run.query("SELECT call_id, caller_key FROM call_cases"))
    assert keys["pd_001"] == keys["pd_003"] != keys["pd_002"]


def test_the_salt_file_is_made_beside_the_database_for_its_owner_only(pd_run: PersonalDataRun) -> None:
    salt_file = pd_run.db_path.with_name("qa.salt")
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert len(salt_file.read_text().strip()) == 64


def test_the_report_holds_no_personal_data_and_mutes_it_in_the_audio(pd_run: PersonalDataRun, ledger: Ledger) -> None:
    html = Path(pd_run.summary.report_path).read_text(encoding="utf-8")
    # What a reader sees: the page without plotly.js, styles and the audio data (numbers in code are code).
    text_only = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", html, flags=re.DOTALL)
    text_only = re.sub(r"data:audio/ogg;base64,[A-Za-z0-9+/=]+", "", text_only)
    found = leaks(text_only, seeded_values(short=False), generic=False)
    ledger.numbers_scanned += 1
    ledger.unredacted += len(found)
    assert found == []
    # The calls to review still play, with personal data silenced: each stretch where it was said is
    # near-silent in the embedded audio and was not in the recording.
    match = re.search(r'data-call-id="([^"]+)".*?src="data:audio/ogg;base64,([A-Za-z0-9+/=]+)"', html, re.DOTALL)
    assert match, "a call to review with its audio"
    call_id, encoded = match.groups()
    embedded = decode_audio_bytes(base64.b64decode(encoded))
    recording = decode_audio(pd_run.input_dir / f"{call_id}.wav").samples
    spans = pd_run.query(
        "SELECT start_s, end_s FROM redactions WHERE call_id = ? AND start_s IS NOT NULL AND end_s - start_s > 0.3",
        [call_id],
    )
    assert spans
    for start_s, end_s in spans:
        window = slice(int(start_s * 16000), int(end_s * 16000))
        assert rms(embedded[:, window]) < 0.05 * rms(recording[:, window]), (call_id, start_s, end_s)


def test_logs_and_artifacts_carry_call_ids_not_text_or_numbers(pd_run: PersonalDataRun, ledger: Ledger) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["qa-batch-summary", "qa-report"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[pd_run.flow_run_id]),
            )
        )
    assert len(artifacts) == 2
    texts = [json.dumps(a.data, ensure_ascii=False) for a in artifacts] + pd_run.logs
    values = seeded_values(short=False)
    found = [f"{leak} in {text[:80]!r}" for text in texts for leak in leaks(text, values, generic=True)]
    ledger.numbers_scanned += len(texts)
    ledger.unredacted += len(found)
    assert found == []
    assert any("pd_001" in line for line in pd_run.logs), "logs name the calls"
    transcript = [text for (text,) in pd_run.query("SELECT text FROM segments WHERE length(text) >= 8")]
    assert not [t for t in transcript if any(t in line for line in pd_run.logs)], "no transcript text in logs"


# -- what the checks read, kept sealed for re-judging (privacy.seal) ------------------------------------


def test_what_the_checks_read_is_kept_sealed_and_opens_only_with_its_key(pd_run: PersonalDataRun) -> None:
    from cryptography.fernet import Fernet

    from qa_pipeline.privacy.seal import SealError, unseal

    key_file = pd_run.db_path.with_name("qa.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes().strip()
    sealed = dict(pd_run.query("SELECT call_id, sealed FROM call_inputs"))
    assert sorted(sealed) == sorted(SECRETS["calls"])
    values = seeded_values(short=False)
    for call_id, blob in sealed.items():
        # Only the seeded numbers: ciphertext is base64, in which a run of 7 digits turns up by chance.
        assert leaks(bytes(blob).decode("latin-1"), values, generic=False) == [], call_id
        inputs = unseal(bytes(blob), key)
        # inside: the transcript as the checks read it, personal data and all (the stored one is masked)
        said = " ".join(segment.text for segment in inputs.transcript.segments)
        assert leaks(said, values, generic=True), call_id
        assert inputs.job is not None and inputs.job.call_id == call_id
        with pytest.raises(SealError):
            unseal(bytes(blob), Fernet.generate_key())
        tampered = bytearray(blob)
        tampered[len(tampered) // 2] ^= 1
        with pytest.raises(SealError):
            unseal(bytes(tampered), key)


def test_rejudging_the_personal_data_calls_writes_the_rows_of_a_full_rescore(
    pd_run: PersonalDataRun, tmp_path: Path
) -> None:
    from qa_pipeline.run.flow import qa_batch
    from tests.test_operations import snapshot

    card = tmp_path / "stricter.toml"
    card.write_text("[scorecard]\npass_score = 95\n", encoding="utf-8")
    summaries = {}
    salt = os.environ.pop("QA_PIPELINE_SALT", None)  # as pd_run: the salt file beside the database
    try:
        for name, force in (("rejudged", False), ("forced", True)):
            db_path = tmp_path / name / "qa.duckdb"
            db_path.parent.mkdir()
            for suffix in (".duckdb", ".salt", ".key"):
                shutil.copy(pd_run.db_path.with_suffix(suffix), db_path.with_suffix(suffix))
            summaries[name] = qa_batch(
                input_dir=str(pd_run.input_dir),
                db_path=str(db_path),
                metadata_csv=str(pd_run.db_path.with_name("calls.csv")),
                scorecard_path=str(card),
                device="cpu",
                report_dir="",
                force=force,
            )
    finally:
        if salt is not None:
            os.environ["QA_PIPELINE_SALT"] = salt
    calls = len(SECRETS["calls"])
    assert (summaries["rejudged"].calls_ok, summaries["rejudged"].calls_rejudged) == (calls, calls)
    assert (summaries["forced"].calls_ok, summaries["forced"].calls_rejudged) == (calls, 0)
    rejudged, forced = snapshot(tmp_path / "rejudged" / "qa.duckdb"), snapshot(tmp_path / "forced" / "qa.duckdb")
    assert rejudged == forced

    def masked(name: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(tmp_path / name / "qa.duckdb"), read_only=True) as con:
            return sorted(con.execute("SELECT * FROM redactions").fetchall(), key=repr)

    assert masked("rejudged") == masked("forced") != []
