"""What the checks saw, kept sealed so a changed scorecard can re-judge a call without transcribing it again.

A call's verdicts depend on its transcript as said (ask_surname looks for 我姓王; a redacted 我姓* would not
do), its measures and its audio facts. The database keeps only redacted text (privacy.protect), so the
checks' own inputs are kept apart, encrypted: `JudgingInputs`, pickled and sealed with Fernet
(`cryptography`: AES-128-CBC with an HMAC-SHA256 tag) under a key that is not in the database
(`inputs_key`: $QA_PIPELINE_INPUTS_KEY, else `<database stem>.key` beside the database, created on first
use, readable by its owner only). The blob is sealed in the worker that scored the call, before anything
is redacted, and stored in `call_inputs`; re-judging (run/rejudge.py) and backtesting unseal it in memory.

Whoever holds the database alone cannot read it. Deleting the key file makes every sealed copy unreadable
at once (calls then re-score from their audio when the scorecard changes). Only blobs this installation
sealed are ever unpickled: the HMAC tag is checked first, so a blob changed in the database is refused.
A blob from another version of the code (`FORMAT`), or one that no longer unpickles, is refused too, and
its call is re-scored.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio.facts import AudioFacts
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.measures import Measures
from qa_pipeline.privacy.protect import make_private_file

KEY_ENV = "QA_PIPELINE_INPUTS_KEY"
# Raised when what JudgingInputs holds changes shape: older blobs are then refused, and their calls re-scored.
FORMAT = 1


class SealError(ValueError):
    """A sealed blob that cannot be opened: another key, changed bytes, another format."""


@dataclass(frozen=True)
class JudgingInputs:
    """Everything the check and score stages read of a call besides its metadata and the scorecard."""

    transcript: Transcript  # as the checks saw it: not redacted, word timestamps included
    measures: Measures
    audio: AudioFacts | None
    job: CallJob | None = None  # the call and its metadata as scored (what `backtest` judges it as)


def default_key_file(db_path: str) -> Path:
    """qa.duckdb -> qa.key beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}.key")


def inputs_key(db_path: str, create: bool = True) -> bytes | None:
    """The key call inputs are sealed with: $QA_PIPELINE_INPUTS_KEY, else the key file beside the database,
    created (random, mode 0600) when missing and `create`; None when missing and not to be created."""
    from cryptography.fernet import Fernet

    if from_env := os.environ.get(KEY_ENV, "").strip():
        return from_env.encode()
    path = default_key_file(db_path)
    if not path.exists() and not create:
        return None
    make_private_file(path, Fernet.generate_key() + b"\n")
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise SealError(f"key file {path}: cannot read it: {error}") from error
    if not key:
        raise SealError(f"key file {path} is empty: delete it (a new key is made) or set ${KEY_ENV}")
    return key


def seal(inputs: JudgingInputs, key: bytes) -> bytes:
    from cryptography.fernet import Fernet

    return Fernet(key).encrypt(pickle.dumps((FORMAT, inputs), protocol=pickle.HIGHEST_PROTOCOL))


def unseal(blob: bytes, key: bytes) -> JudgingInputs:
    """The inputs sealed in `blob`; SealError when this key did not seal it, its bytes changed, or it was
    sealed by a version whose inputs had another shape."""
    from cryptography.fernet import Fernet, InvalidToken

    try:
        opened = Fernet(key).decrypt(blob)
    except (InvalidToken, ValueError) as error:
        raise SealError("sealed with another key, or changed since") from error
    try:
        version, inputs = pickle.loads(opened)  # authenticated above: only what this key sealed is unpickled
    except Exception as error:  # a class renamed or moved since: treat as unreadable, re-score the call
        raise SealError(f"sealed by another version of the code: {type(error).__name__}: {error}") from error
    if version != FORMAT or not isinstance(inputs, JudgingInputs):
        raise SealError(f"sealed in format {version}, this version reads {FORMAT}")
    return inputs
