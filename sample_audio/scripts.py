"""The sample calls' scripts: the dataclasses, and the loader of the data files in scripts/.

Each call is one TOML file, sample_audio/scripts/<call_id>.toml: its metadata (what calls.csv and
labels.json say about it), its customer voice, its ringback, the dialogue (who says what, in order, with
the timing options of each utterance) and the declared verdicts of the 22 checks. The voices are shared,
in scripts/voices.toml. `load_calls` reads them all into `CallSpec`s in call-id order (the order fixes
each call's random seed, so it is part of the ground truth).

Everything here is SYNTHETIC: the calls are text-to-speech, the names and numbers in them invented.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Literal, get_args

SCRIPTS_DIR: Final = Path(__file__).resolve().parent / "scripts"
VOICES_FILE: Final = SCRIPTS_DIR / "voices.toml"
TZ_CN: Final = timezone(timedelta(hours=8))

Speaker = Literal["agent", "customer"]
Verdict = Literal["pass", "fail", "na"]
CheckName = Literal[
    "greeting",
    "ask_surname",
    "ask_identity_detail",
    "restate_confirm",
    "empathy",
    "reply_commitment",
    "satisfaction_question",
    "closing_more_help",
    "closing_thanks",
    "forbidden_phrase",
    "casual_promise",
    "off_topic_privacy",
    "required_info",
    "routing",
    # timing and acoustics: judged from the rendered times and the signal, not the words alone
    "answer_within_rings",
    "dead_air",
    "talk_time_limit",
    "interrupt_customer",
    "speech_rate",
    "calm_tone",
    "abrupt_hangup",
    "time_to_topic",
]
CallType = Literal["inquiry", "complaint", "repair", "rescue", "appointment", "callback", "survey", "other"]
Layout = Literal["stereo", "mono"]
Codec = Literal["pcm_s16le", "pcm_mulaw", "pcm_alaw", "flac", "mp3", "opus"]

# The check catalogue, in its order (spec: the 14 checks of issue 3, then the 8 timing checks).
CHECK_NAMES: Final[tuple[CheckName, ...]] = get_args(CheckName)
PROPERTY_ORG: Final = "红树西岸管理处"
CA_ORG: Final = "江苏CA"


@dataclass(frozen=True)
class Utterance:
    """One TTS utterance; `proves` names the checks it is the evidence for."""

    speaker: Speaker
    text: str
    proves: tuple[CheckName, ...] = ()
    # Added for the timing checks: its random gap comes from the call's timing generator, so the
    # utterances that were there before keep their draws (and their times relative to the answer).
    added: bool = False
    pause_s: float = 0.0  # extra silence before it (dead air, a hold)
    # Starts U(low, high) s before the previous utterance ends (talking over it) instead of after a gap.
    overlap_s: tuple[float, float] | None = None
    raised: bool = False  # agent only: RAISED_LEVEL_DB louder, pitch x RAISED_WARP
    cut_at: float | None = None  # last utterance only: keep this share of its samples; the call ends there


def agent(text: str, *proves: CheckName, **timing: Any) -> Utterance:
    return Utterance("agent", text, proves, **timing)


def customer(text: str, **timing: Any) -> Utterance:
    return Utterance("customer", text, **timing)


@dataclass(frozen=True)
class Voice:
    """How one speaker is rendered from the single TTS voice."""

    # < 1 lowers pitch and formants together (audio resampled as if played
    # slower), which sounds like a different, larger speaker.
    formant_warp: float
    # FastSpeech2 pitch contour multiplier. It scales the model's normalised (z-score) f0, so it widens
    # or flattens the intonation but leaves the voice's median pitch where it is (measured: x0.5 to x2
    # moves the median by under 1 semitone); pitch is moved by formant_warp.
    f0_ratio: float
    speed: float  # speaking rate after warping, 1.0 = TTS default
    level_dbfs: float  # RMS level of the speech


@dataclass(frozen=True)
class Ringback:
    """Ringback before the answer: `rings` bursts; `cut_short`: the answer cuts the last burst short."""

    rings: int
    cut_short: bool = False


@dataclass(frozen=True)
class CallSpec:
    call_id: str
    audio_file: str
    layout: Layout
    codec: Codec
    direction: Literal["inbound", "outbound"]
    call_type: CallType
    agent_id: str
    organisation: str
    started_at: datetime
    caller_number: str  # the customer's number, for outbound calls too
    survey_score: int | None
    case_id: str | None
    acw_s: int | None
    customer_voice: Voice
    checks: dict[CheckName, Verdict]
    dialogue: tuple[Utterance, ...]
    # False: calls.csv leaves call_type empty, so the pipeline has to infer it
    # (labels.json still has the true type).
    call_type_in_metadata: bool = True
    # False: calls.csv leaves direction empty (labels.json still has the true direction).
    direction_in_metadata: bool = True
    # None: the recording starts at the answer (no ringback, answer_s 0).
    ringback: Ringback | None = None
    agent_speed: float | None = None  # per-call override of the agent voice's speaking rate
    agent_level_dbfs: float | None = None  # per-call override of the agent voice's level


def verdicts(fail: tuple[CheckName, ...] = (), na: tuple[CheckName, ...] = ()) -> dict[CheckName, Verdict]:
    """All 22 verdicts: the named checks fail or are not applicable, every other one passes."""
    unknown = set(fail + na) - set(CHECK_NAMES)
    if unknown or set(fail) & set(na):
        raise ValueError(f"bad verdicts: fail={fail} na={na}")
    return {name: "fail" if name in fail else "na" if name in na else "pass" for name in CHECK_NAMES}


# Checks that do not apply to a call type by the catalogue's call_types.
NOT_INBOUND: Final[tuple[CheckName, ...]] = (
    "ask_surname",
    "ask_identity_detail",
    "restate_confirm",
    "closing_more_help",
)
NOT_RETURN_VISIT: Final[tuple[CheckName, ...]] = ("satisfaction_question", "off_topic_privacy", "time_to_topic")
# Checks that do not apply to an outbound call (by direction: the rings are the agent's to count only inbound).
NOT_OUTBOUND: Final[tuple[CheckName, ...]] = ("answer_within_rings",)


def at(day: int, clock: str) -> datetime:
    hour, minute, second = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hour, minute, second, tzinfo=TZ_CN)


# --------------------------------------------------------------------------
# Loading the data files
# --------------------------------------------------------------------------


class ScriptError(ValueError):
    """A script file that does not describe a call (unknown key, wrong type, bad value)."""


def _voice(table: dict[str, Any], where: str) -> Voice:
    names = {field.name for field in fields(Voice)}
    if set(table) != names:
        raise ScriptError(f"{where}: a voice has exactly {sorted(names)}, got {sorted(table)}")
    return Voice(**{name: _number(table[name], f"{where}.{name}") for name in sorted(names)})


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScriptError(f"{where}: a number is wanted, got {value!r}")
    return float(value)


def _choice(value: object, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise ScriptError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _typed(value: object, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise ScriptError(f"{where}: {value!r} has the wrong type")
    if not isinstance(value, kind):
        raise ScriptError(f"{where}: {value!r} has the wrong type")
    return value


def load_voices(path: Path = VOICES_FILE) -> tuple[dict[str, Voice], dict[str, Voice]]:
    """The agents' voices by agent id and the customer voices by name (scripts/voices.toml)."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    if set(data) != {"agent", "customer"}:
        raise ScriptError(f"{path.name}: wants exactly the tables [agent.*] and [customer.*]")
    agents = {key: _voice(table, f"{path.name}: agent.{key}") for key, table in data["agent"].items()}
    customers = {key: _voice(table, f"{path.name}: customer.{key}") for key, table in data["customer"].items()}
    return agents, customers


AGENT_VOICES, CUSTOMER_VOICES = load_voices()
MALE_CUSTOMER: Final = CUSTOMER_VOICES["male"]
FEMALE_CUSTOMER: Final = CUSTOMER_VOICES["female"]
OLDER_MALE_CUSTOMER: Final = CUSTOMER_VOICES["older_male"]

UTTERANCE_OPTIONS: Final = ("proves", "added", "pause_s", "overlap_s", "raised", "cut_at")
REQUIRED_KEYS: Final = (
    "call_id",
    "audio_file",
    "layout",
    "codec",
    "direction",
    "call_type",
    "agent_id",
    "organisation",
    "started_at",
    "caller_number",
    "customer_voice",
    "dialogue",
    "checks",
)
OPTIONAL_KEYS: Final = (
    "survey_score",
    "case_id",
    "acw_s",
    "agent_speed",
    "agent_level_dbfs",
    "call_type_in_metadata",
    "direction_in_metadata",
    "ringback",
)


def parse_utterance(entry: object, where: str) -> Utterance:
    """{ agent = "…", proves = [...], added = true, … } or { customer = "…", … }."""
    if not isinstance(entry, dict):
        raise ScriptError(f"{where}: an utterance is an inline table, got {entry!r}")
    speakers = [key for key in entry if key in get_args(Speaker)]
    if len(speakers) != 1:
        raise ScriptError(f"{where}: an utterance names exactly one of agent / customer: {entry!r}")
    unknown = set(entry) - {*speakers, *UTTERANCE_OPTIONS}
    if unknown:
        raise ScriptError(f"{where}: unknown utterance keys {sorted(unknown)}")
    speaker: Speaker = speakers[0]
    text = _typed(entry[speaker], str, f"{where}.{speaker}")
    proves = tuple(
        _choice(name, CHECK_NAMES, f"{where}.proves") for name in _typed(entry.get("proves", []), list, where)
    )
    timing: dict[str, Any] = {}
    if "added" in entry:
        timing["added"] = _typed(entry["added"], bool, f"{where}.added")
    if "pause_s" in entry:
        timing["pause_s"] = _number(entry["pause_s"], f"{where}.pause_s")
    if "overlap_s" in entry:
        low, high = _typed(entry["overlap_s"], list, f"{where}.overlap_s")
        timing["overlap_s"] = (_number(low, f"{where}.overlap_s"), _number(high, f"{where}.overlap_s"))
    if "raised" in entry:
        timing["raised"] = _typed(entry["raised"], bool, f"{where}.raised")
    if "cut_at" in entry:
        timing["cut_at"] = _number(entry["cut_at"], f"{where}.cut_at")
    if speaker == "customer" and proves:
        raise ScriptError(f"{where}: only agent utterances prove checks")
    return agent(text, *proves, **timing) if speaker == "agent" else customer(text, **timing)


def parse_call(data: dict[str, Any], where: str) -> CallSpec:
    """One call script (the parsed TOML) as a CallSpec."""
    missing = [key for key in REQUIRED_KEYS if key not in data]
    unknown = set(data) - {*REQUIRED_KEYS, *OPTIONAL_KEYS}
    if missing or unknown:
        raise ScriptError(f"{where}: missing keys {missing}, unknown keys {sorted(unknown)}")
    checks = _typed(data["checks"], dict, f"{where}: checks")
    if set(checks) - {"fail", "na"}:
        raise ScriptError(f"{where}: [checks] holds only fail and na, got {sorted(checks)}")
    fail = tuple(_choice(name, CHECK_NAMES, f"{where}: checks.fail") for name in checks.get("fail", []))
    na = tuple(_choice(name, CHECK_NAMES, f"{where}: checks.na") for name in checks.get("na", []))
    started_at = _typed(data["started_at"], datetime, f"{where}: started_at")
    if started_at.tzinfo is None:
        raise ScriptError(f"{where}: started_at needs its UTC offset (+08:00)")
    ringback = None
    if "ringback" in data:
        table = _typed(data["ringback"], dict, f"{where}: ringback")
        if set(table) - {"rings", "cut_short"} or "rings" not in table:
            raise ScriptError(f"{where}: ringback = {{ rings = N, cut_short = true|false }}, got {table}")
        ringback = Ringback(
            _typed(table["rings"], int, f"{where}: ringback.rings"),
            _typed(table.get("cut_short", False), bool, f"{where}: ringback.cut_short"),
        )
    voice = _typed(data["customer_voice"], str, f"{where}: customer_voice")
    if voice not in CUSTOMER_VOICES:
        raise ScriptError(f"{where}: customer_voice {voice!r} is not in {VOICES_FILE.name}")
    agent_id = _typed(data["agent_id"], str, f"{where}: agent_id")
    if agent_id not in AGENT_VOICES:
        raise ScriptError(f"{where}: agent_id {agent_id!r} has no voice in {VOICES_FILE.name}")
    dialogue = tuple(
        parse_utterance(entry, f"{where}: dialogue[{index}]")
        for index, entry in enumerate(_typed(data["dialogue"], list, f"{where}: dialogue"))
    )
    if not dialogue:
        raise ScriptError(f"{where}: the dialogue is empty")

    def optional(key: str, kind: type | tuple[type, ...]) -> Any:
        return _typed(data[key], kind, f"{where}: {key}") if key in data else None

    def optional_number(key: str) -> float | None:
        return _number(data[key], f"{where}: {key}") if key in data else None

    return CallSpec(
        call_id=_typed(data["call_id"], str, f"{where}: call_id"),
        audio_file=_typed(data["audio_file"], str, f"{where}: audio_file"),
        layout=_choice(data["layout"], get_args(Layout), f"{where}: layout"),
        codec=_choice(data["codec"], get_args(Codec), f"{where}: codec"),
        direction=_choice(data["direction"], ("inbound", "outbound"), f"{where}: direction"),
        call_type=_choice(data["call_type"], get_args(CallType), f"{where}: call_type"),
        agent_id=agent_id,
        organisation=_typed(data["organisation"], str, f"{where}: organisation"),
        started_at=started_at,
        caller_number=_typed(data["caller_number"], str, f"{where}: caller_number"),
        survey_score=optional("survey_score", int),
        case_id=optional("case_id", str),
        acw_s=optional("acw_s", int),
        customer_voice=CUSTOMER_VOICES[voice],
        checks=verdicts(fail=fail, na=na),
        dialogue=dialogue,
        call_type_in_metadata=data.get("call_type_in_metadata", True) is True,
        direction_in_metadata=data.get("direction_in_metadata", True) is True,
        ringback=ringback,
        agent_speed=optional_number("agent_speed"),
        agent_level_dbfs=optional_number("agent_level_dbfs"),
    )


def load_call(path: Path) -> CallSpec:
    """One script file; its name must be its call id (call_001.toml holds call_001)."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    for key in ("call_type_in_metadata", "direction_in_metadata"):
        if key in data:
            _typed(data[key], bool, f"{path.name}: {key}")
    call = parse_call(data, path.name)
    if call.call_id != path.stem:
        raise ScriptError(f"{path.name}: holds {call.call_id}; the file must be named after its call id")
    return call


def script_files(folder: Path = SCRIPTS_DIR) -> list[Path]:
    """The call scripts in call-id order (voices.toml is no call)."""
    return sorted(path for path in folder.glob("*.toml") if path != folder / VOICES_FILE.name)


def load_calls(folder: Path = SCRIPTS_DIR) -> tuple[CallSpec, ...]:
    """Every call script in the folder, in call-id order."""
    calls = tuple(load_call(path) for path in script_files(folder))
    if not calls:
        raise ScriptError(f"no call scripts in {folder}")
    return calls
