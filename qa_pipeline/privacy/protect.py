"""The privacy stage, between scoring and storing: personal data out of everything the database keeps.

Customers say phone, ID-card and bank-card numbers, addresses and names. The checks need the words as
said (ask_surname looks for 我姓王), so redaction comes after them, in the worker that scored the call:
the flow, the only database writer, gets unredacted text only sealed (privacy.seal: the checks' inputs,
encrypted for re-judging) and opens it only in memory, to re-judge a call when its scorecard changed.
What is masked (qa_pipeline.privacy.redact): every transcript segment, every check's evidence text and
detail, the text of the timed stretches (hold notices, interruptions, cut-offs, the call's purpose), and
the metadata's unknown columns. The caller number is replaced by a keyed hash (HMAC-SHA256 with the
center's salt): equal numbers give equal hashes, so the KPIs that link a customer's calls
(kpis/call_cases.sql) still work, and nobody holding the database alone can read or recompute the number.
The `redactions` table records where each masked entity was and its kind, never its characters.

Word timestamps are dropped from the protected transcript: the database never stored them, and a
number spread over several words could not be masked word by word.

A number may also be spread over several segments: the ASR cuts where the reader pauses (我的电话是幺三九 /
幺二三四 / 五六七八). The segments are redacted as each speaker's stretches (a segment and the speaker's next
one, when it starts within SPLIT_NUMBER_WITHIN_S; the other speaker's 嗯 in between does not break it), so
a mobile/ID/bank number read across them is masked in each segment, with one `redactions` row per segment.
Masking stays length-preserving within each segment.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_pipeline.model import Redaction, ScoredCall
from qa_pipeline.privacy.redact import (
    Redacted,
    RedactionSettings,
    hash_caller_number,
    redact_text,
    redact_utterances,
    redact_value,
)
from qa_pipeline.privacy.speech_fields import protect_record
from qa_pipeline.text.matching import find_any
from qa_pipeline.text.personal_data import COMMON_SURNAMES, COMPOUND_SURNAMES, Entity, find_personal_data

if TYPE_CHECKING:
    from qa_pipeline.asr.transcript import Segment

SALT_ENV = "QA_PIPELINE_SALT"  # the salt itself, e.g. from the deployment's secret store
SALT_BYTES = 32


# The agent asking the customer's name: the customer's next words are the answer, and whatever
# surname-led name is in them is the customer's name, even where the ASR lost the cue (我姓王，叫王建国
# comes out as 我希望,向王建国).
# Matched like mandated phrases (pinyin, fuzzy): the ASR writes 请问您贵姓 as 请问您跪行 or 请问您贵心.
NAME_QUESTIONS = ("请问您贵姓", "您贵姓", "请问怎么称呼", "怎么称呼您", "您叫什么名字", "您的姓名是")
QUESTION_SIMILARITY = 0.8
ANSWER_WITHIN_S = 15.0
# A speaker's next segment starting this soon after the last one may carry on a number read out in groups
# (the ASR ends a segment at each pause); a pause of half a minute is a new subject.
SPLIT_NUMBER_WITHIN_S = 10.0
# Characters of speech, never of a given name: 管不管 after a surname-like 管 is a question, not a name.
_NOT_IN_A_GIVEN_NAME = "不没了吗呢吧么什啊呀的是在有要给说到就都也还这那你我他她们"
_ANSWERED_NAME = re.compile(
    "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(COMMON_SURNAMES)) + "])"
    f"(?:(?![{_NOT_IN_A_GIVEN_NAME}])[\u4e00-\u9fff]){{1,2}}(?![\u4e00-\u9fff])"
)


class PrivacyError(ValueError):
    """The privacy settings cannot be used (an unreadable or empty salt file): names the file."""


@dataclass(frozen=True)
class PrivacySettings:
    """The scorecard's [privacy] table."""

    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    hash_caller_number: bool = True
    salt_file: str = ""  # "" = <database>.salt beside the database, created on first use


def caller_salt(settings: PrivacySettings, db_path: str) -> str | None:
    """The key caller numbers are hashed with: $QA_PIPELINE_SALT, else the salt file ([privacy] salt_file,
    else <database stem>.salt beside the database, created with a random salt readable by its owner only).
    The same salt must be used for every run into one database, or a customer's calls stop linking."""
    if not settings.hash_caller_number:
        return None
    if salt := os.environ.get(SALT_ENV, "").strip():
        return salt
    path = Path(settings.salt_file) if settings.salt_file else default_salt_file(db_path)
    if not settings.salt_file:
        make_private_file(path, (secrets.token_hex(SALT_BYTES) + "\n").encode())
    try:
        salt = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise PrivacyError(f"salt file {path}: cannot read it: {error}") from error
    if not salt:
        raise PrivacyError(f"salt file {path} is empty: write a long random string into it, or set ${SALT_ENV}")
    return salt


def make_private_file(path: Path, content: bytes) -> None:
    """Create `path` holding `content`, readable by its owner only, unless it exists (when two processes
    make it at once, the first one's stays: both then read the same)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def default_salt_file(db_path: str) -> Path:
    """qa.duckdb -> qa.salt beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}.salt")


def salt_id(salt: str | None) -> str | None:
    """A digest naming the salt (in the call fingerprint: a new salt re-scores, so hashes stay comparable);
    the salt cannot be recovered from it."""
    return hashlib.sha256(f"qa-pipeline salt:{salt}".encode()).hexdigest()[:16] if salt else None


@dataclass
class _Names:
    """What a call says about the customer's name, read before masking: the names (from the redactor's
    cues, and surname-led names in the customer's answer to the agent's name question), masked wherever
    they appear in the call, and which agent segments then address the customer by surname (王先生,
    which the ASR may write 王逆是)."""

    addressed: dict[int, str] = field(default_factory=dict)  # agent segment -> the surname it starts with
    names: set[str] = field(default_factory=set)  # names of 2+ characters found

    @classmethod
    def of(cls, segments: tuple[Segment, ...], settings: RedactionSettings) -> _Names:
        found = cls()
        surnames: list[tuple[float, str]] = []  # (when the answer ended, the surname given)
        for seq, segment in enumerate(segments):
            for entity in find_personal_data(segment.text, settings):
                if entity.kind == "name" and entity.end - entity.start >= 2:
                    found.names.add(segment.text[entity.start : entity.end])
            if segment.speaker != "agent" or find_any(segment.text, NAME_QUESTIONS, QUESTION_SIMILARITY) is None:
                continue
            answer = next(
                (
                    later_seq
                    for later_seq in range(seq + 1, len(segments))
                    if segments[later_seq].speaker == "customer"
                    and segments[later_seq].start_s - segment.end_s <= ANSWER_WITHIN_S
                ),
                None,
            )
            if answer is None:
                continue
            for match in _ANSWERED_NAME.finditer(redact_text(segments[answer].text, settings).text):
                found.names.add(match.group())
                surname = next((c for c in COMPOUND_SURNAMES if match.group().startswith(c)), match.group()[0])
                surnames.append((segments[answer].end_s, surname))
        for seq, segment in enumerate(segments):
            if segment.speaker != "agent":
                continue
            for answered_at, surname in surnames:
                if 0 <= segment.start_s - answered_at <= ANSWER_WITHIN_S and segment.text.startswith(surname):
                    found.addressed[seq] = surname
        return found


def _mask_span(redacted: Redacted, start: int, end: int, settings: RedactionSettings) -> Redacted:
    """`redacted` with text[start:end] masked too, as a name."""
    if any(e.start < end and start < e.end for e in redacted.entities):
        return redacted
    text = redacted.text[:start] + settings.mask * (end - start) + redacted.text[end:]
    return Redacted(text, tuple(sorted((*redacted.entities, Entity("name", start, end)), key=lambda e: e.start)))


def _stretches(segments: tuple[Segment, ...]) -> list[list[int]]:
    """The segments (their seqs) in stretches a number may be read across: each speaker's segments in time
    order, a new stretch where the speaker's next segment starts more than SPLIT_NUMBER_WITHIN_S after."""
    stretches: list[list[int]] = []
    open_stretch: dict[str, list[int]] = {}  # speaker -> their stretch going on
    for seq, segment in enumerate(segments):
        stretch = open_stretch.get(segment.speaker)
        if stretch is None or segment.start_s - segments[stretch[-1]].end_s > SPLIT_NUMBER_WITHIN_S:
            stretch = open_stretch[segment.speaker] = []
            stretches.append(stretch)
        stretch.append(seq)
    return stretches


def _masked_chars(said: str, redacted: Redacted) -> int:
    return sum(a != b for a, b in zip(said, redacted.text, strict=True))


class _Collector:
    def __init__(self, settings: RedactionSettings, names: _Names) -> None:
        self.settings = settings
        self.names = names
        self.found: list[Redaction] = []
        self.segment_texts: dict[str, Redacted] = {}  # a segment's text as said -> as stored
        self.stored_segments: list[tuple[str, Redacted]] = []  # each segment as said and as stored, in order

    def _with_names(self, text: str, redacted: Redacted) -> Redacted:
        """`redacted` (of `text`) with the names found elsewhere in the call masked too."""
        if not self.settings.enabled or "name" not in self.settings.kinds:
            return redacted
        for name in self.names.names:
            start = text.find(name)
            while start >= 0:
                redacted = _mask_span(redacted, start, start + len(name), self.settings)
                start = text.find(name, start + len(name))
        return redacted

    def _as_stored(self, text: str) -> Redacted:
        """`text` as it is stored: as the segment it is, or as the segments it is made of (evidence of a
        phrase matched in two utterances, the agent's words during a stretch), else redacted on its own.
        A number read across segments is masked only in the segments' stored texts."""
        if (stored := self.segment_texts.get(text)) is not None:
            return stored
        position = 0
        parts: list[Redacted] = []
        for said, stored in self.stored_segments:
            if said and text.startswith(said, position):
                parts.append(
                    Redacted(
                        stored.text,
                        tuple(
                            dataclasses.replace(e, start=e.start + position, end=e.end + position)
                            for e in stored.entities
                        ),
                    )
                )
                position += len(said)
        if len(parts) > 1 and position == len(text):
            return Redacted("".join(p.text for p in parts), tuple(e for p in parts for e in p.entities))
        return self._with_names(text, redact_text(text, self.settings))

    def text(self, text: str | None, location: str) -> str | None:
        if not text:
            return text
        # Evidence is usually a whole segment: stored as that segment is, with its context-found names.
        redacted = self._as_stored(text)
        self.found.extend(Redaction(location, e.kind, e.start, e.end) for e in redacted.entities)
        return redacted.text

    def segment(self, seq: int, segment: Segment, location: str, redacted: Redacted) -> str:
        """The stored text of `segment`, `redacted` as its stretch was (the names found in an answer are
        masked here too)."""
        redacted = self._with_names(segment.text, redacted)
        if self.settings.enabled and "name" in self.settings.kinds and (surname := self.names.addressed.get(seq)):
            redacted = _mask_span(redacted, 0, len(surname), self.settings)
        # The same words said twice, once as part of a number read across segments: evidence quoting them is
        # stored the more masked way.
        earlier = self.segment_texts.get(segment.text)
        if earlier is None or _masked_chars(segment.text, redacted) > _masked_chars(segment.text, earlier):
            self.segment_texts[segment.text] = redacted
        self.stored_segments.append((segment.text, redacted))
        for e in redacted.entities:
            start_s, end_s = segment.span_times(e.start, e.end)
            self.found.append(Redaction(location, e.kind, e.start, e.end, round(start_s, 3), round(end_s, 3)))
        return redacted.text

    def value(self, value: Any, location: str) -> Any:
        new, count = redact_value(value, self.settings)
        self.found.extend(Redaction(location, "json", -1, -1) for _ in range(count))
        return new


def protect_call(scored: ScoredCall, settings: PrivacySettings, salt: str | None) -> ScoredCall:
    """The scored call as it may be stored: texts redacted, the caller number hashed, and the list of what
    was masked in `redactions`. Verdicts, scores and timings are untouched."""
    replace = dataclasses.replace
    transcript = scored.transcript
    mask = _Collector(settings.redaction, _Names.of(transcript.segments, settings.redaction))
    redacted: dict[int, Redacted] = {}
    for stretch in _stretches(transcript.segments):
        texts = [transcript.segments[seq].text for seq in stretch]
        redacted.update(zip(stretch, redact_utterances(texts, settings.redaction), strict=True))
    segments = tuple(
        replace(s, text=mask.segment(seq, s, f"segments:{seq}", redacted[seq]), words=())
        for seq, s in enumerate(transcript.segments)
    )
    # Every field marked as speech (qa_pipeline.privacy.speech_fields), in this order: the checks' results,
    # the measures, the metadata (whose caller number is hashed).
    hash_number = None if salt is None else functools.partial(hash_caller_number, salt=salt)
    results = [protect_record(r, mask, hash_number) for r in scored.verdicts.results]
    measures = protect_record(scored.measures, mask, hash_number)
    metadata = protect_record(scored.job.metadata, mask, hash_number)
    return replace(
        scored,
        job=replace(scored.job, metadata=metadata),
        transcript=replace(transcript, segments=segments),
        measures=measures,
        verdicts=replace(scored.verdicts, results=results),
        redactions=tuple(mask.found),
    )


def protect_message(text: str, settings: RedactionSettings | None = None) -> str:
    """A log line or failure message with any personal number masked (a metadata problem quotes the bad
    cell, which may be a caller number)."""
    return redact_text(text, settings or RedactionSettings()).text
