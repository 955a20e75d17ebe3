"""The scorecard: a center's TOML file saying which checks run, their weights and their phrases.

The default scorecard (default_scorecard.toml next to this file) encodes ../shared/standards and is the
one place where check defaults live. A center's scorecard is layered over it: every key it sets replaces
the default's value (lists replace, they do not extend; tables such as
[checks.required_info.facts.repair] merge key by key), every key it leaves out keeps the default.
Validation is strict and happens before any audio is touched: an unknown key, a value of the wrong type,
a number outside the range its Settings field declares (`bounds` field metadata,
qa_pipeline.checks.base.bounds), an unknown check id or a table keyed by call type with an unknown call
type is an error naming the key. The [timing] table (how the call's timings are measured:
qa_pipeline.measures.TimingSettings) is validated the same way, its ranges the `bounds` metadata of
TimingSettings' fields, and the default must list every one of its keys. An optional [roles] table
replaces the cues that tell the agent from the customer on diarized mono calls (qa_pipeline.asr.roles):
`agent_cues` / `customer_cues` (phrase, or variants joined by |, -> weight) and `min_confidence`. An
optional [kpis] table sets the windows of the case-efficiency KPIs (qa_pipeline.kpis.KpiSettings).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from qa_pipeline.asr.roles import RoleSettings
from qa_pipeline.asr.verify import ExpectedWords, VerifySettings
from qa_pipeline.audio.screening import InputSettings
from qa_pipeline.checks import REGISTRY
from qa_pipeline.checks.base import Check, CheckSettings
from qa_pipeline.checks.run import CheckingSettings
from qa_pipeline.intake.metadata import CALL_TYPES
from qa_pipeline.kpis import KpiSettings
from qa_pipeline.measures import TimingSettings
from qa_pipeline.measures.acoustics import RINGBACK_PRESETS
from qa_pipeline.privacy.protect import PrivacySettings
from qa_pipeline.privacy.redact import RedactionSettings
from qa_pipeline.text.meaning import MeaningSettings
from qa_pipeline.text.personal_data import ENTITY_KINDS

DEFAULT_SCORECARD = "default_scorecard.toml"
DEFAULT_MIN_JUDGED_SHARE = 0.25  # default_scorecard.toml says why


class ScorecardError(ValueError):
    """The scorecard is unusable; the message names the file and the offending key."""


@dataclass(frozen=True)
class Scorecard:
    name: str
    pass_score: float
    organisations: tuple[str, ...]
    asr_prompt: str  # "" = built from organisations (qa_pipeline.asr.transcribe.call_prompt)
    min_similarity: float
    checks: dict[str, CheckSettings]
    source: str
    sha256: str = field(default="")
    meaning: MeaningSettings = field(default_factory=MeaningSettings)
    # [matching] audio_verify / min_audio_probability (asr.verify); `verification()` adds what to listen for
    audio_verify: VerifySettings = field(default_factory=VerifySettings)
    timing: TimingSettings = field(default_factory=TimingSettings)
    roles: RoleSettings = field(default_factory=RoleSettings)
    kpis: KpiSettings = field(default_factory=KpiSettings)
    input: InputSettings = field(default_factory=InputSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    # [scorecard] min_judged_share: a call whose applicable checks hold less of its checks' weight gets no
    # score (qa_pipeline.scoring: 'too_few_checks')
    min_judged_share: float = DEFAULT_MIN_JUDGED_SHARE

    def enabled_checks(self) -> list[Check]:
        return [REGISTRY[cid](settings) for cid, settings in self.checks.items() if settings.enabled]

    def verification(self) -> VerifySettings:
        """The ASR stage's phrase verification (asr.verify): the enabled script checks' opening and closing
        elements (greeting: salutation, organisation, offer of help; closing_thanks: thanks, goodbye)."""
        expected: list[ExpectedWords] = []
        greeting = self.checks.get("greeting")
        if greeting is not None and greeting.enabled:
            expected.append(ExpectedWords("salutation", greeting.salutations, "opening"))  # type: ignore[attr-defined]
            if greeting.require_organisation and self.organisations:  # type: ignore[attr-defined]
                expected.append(ExpectedWords("organisation", self.organisations, "opening"))
            offers = (*greeting.offers, *greeting.introductions)  # type: ignore[attr-defined]
            expected.append(ExpectedWords("offer_of_help", offers, "opening"))
        closing = self.checks.get("closing_thanks")
        if closing is not None and closing.enabled:
            expected.append(ExpectedWords("thanks", closing.thanks, "closing"))  # type: ignore[attr-defined]
            expected.append(ExpectedWords("goodbye", closing.goodbyes, "closing"))  # type: ignore[attr-defined]
        return dataclasses.replace(self.audio_verify, expected=tuple(expected), min_similarity=self.min_similarity)

    def checking(self) -> CheckingSettings:
        """The check stage's settings (qa_pipeline.checks.run)."""
        return CheckingSettings(tuple(self.enabled_checks()), self.organisations, self.min_similarity, self.meaning)


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _coerce(value: Any, kind: Any, key: str, source: str) -> Any:
    """Check `value` against a Settings field type (bool, int, float, str, tuple[str, ...], and
    dict[str, ...] of those: a TOML table, each entry checked under `key.<entry>`)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], key, source)
    if origin is tuple:
        (item_kind, _ellipsis) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ScorecardError(f"{source}: {key} must be a list, got {type(value).__name__}")
        return tuple(_coerce(item, item_kind, f"{key}[{i}]", source) for i, item in enumerate(value))
    if origin is dict:
        (key_kind, value_kind) = typing.get_args(kind)
        if key_kind is not str:
            raise TypeError(f"unsupported settings type {kind} for {key}: table keys are strings")
        if not isinstance(value, dict):
            raise ScorecardError(f"{source}: {key} must be a table, got {type(value).__name__}")
        return {name: _coerce(item, value_kind, f"{key}.{name}", source) for name, item in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise ScorecardError(f"{source}: {key} must be true or false, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScorecardError(f"{source}: {key} must be a finite number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # TOML integers have no size limit: 1 followed by 400 zeros
            number = math.inf
        if not math.isfinite(number):
            raise ScorecardError(f"{source}: {key} must be a finite number, got {value!r}")
        return number
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScorecardError(f"{source}: {key} must be an integer, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ScorecardError(f"{source}: {key} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported settings type {_type_name(kind)} for {key}")


def _settings(check: type[Check], table: Any, source: str) -> CheckSettings:
    prefix = f"checks.{check.id}"
    if not isinstance(table, dict):
        raise ScorecardError(f"{source}: [{prefix}] must be a table")
    hints = typing.get_type_hints(check.Settings)
    fields = {f.name: f for f in dataclasses.fields(check.Settings)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ScorecardError(f"{source}: unknown key {prefix}.{key} (known: {', '.join(sorted(fields))})")
        values[key] = _coerce(value, hints[key], f"{prefix}.{key}", source)
        # The field's allowed range (checks.base.bounds): of the number, or of each value of a table of numbers.
        bounds = fields[key].metadata.get("bounds")
        if bounds:
            entries = values[key].items() if isinstance(values[key], dict) else [("", values[key])]
            for entry, number in entries:
                if not bounds[0] <= number <= bounds[1]:
                    path = f"{prefix}.{key}.{entry}" if entry else f"{prefix}.{key}"
                    raise ScorecardError(f"{source}: {path} must be between {bounds[0]} and {bounds[1]}")
    try:
        settings = check.Settings(**values)
    except TypeError as error:  # a required key is absent from the default scorecard itself
        raise ScorecardError(f"{source}: [{prefix}] is incomplete: {error}") from error
    unknown_types = set(settings.call_types) - set(CALL_TYPES)
    if unknown_types:
        raise ScorecardError(f"{source}: {prefix}.call_types has unknown types {sorted(unknown_types)}")
    for settings_field in dataclasses.fields(settings):
        if settings_field.metadata.get("keys") == "call_type":
            for call_type in getattr(settings, settings_field.name):
                if call_type not in CALL_TYPES:
                    raise ScorecardError(
                        f"{source}: {prefix}.{settings_field.name}.{call_type} is not a call type"
                        f" (known: {', '.join(CALL_TYPES)})"
                    )
    problem = next(settings.problems(), None)
    if problem:
        raise ScorecardError(f"{source}: {prefix}.{problem[0]} {problem[1]}")
    return settings


def _table(data: dict[str, Any], name: str, known: set[str], source: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ScorecardError(f"{source}: [{name}] must be a table")
    for key in table:
        if key not in known:
            raise ScorecardError(f"{source}: unknown key {name}.{key} (known: {', '.join(sorted(known))})")
    return table


def _timing(data: dict[str, Any], source: str) -> TimingSettings:
    """The [timing] table: every TimingSettings key, checked like a check's keys."""
    hints = typing.get_type_hints(TimingSettings)
    fields = {f.name: f for f in dataclasses.fields(TimingSettings)}
    known = list(fields)
    table = _table(data, "timing", set(known), source)
    missing = [name for name in known if name not in table]
    if missing:
        raise ScorecardError(
            f"{source}: [timing] is incomplete: no {', '.join(missing)} (the default scorecard must list every key)"
        )
    values: dict[str, Any] = {}
    for key in known:
        values[key] = value = _coerce(table[key], hints[key], f"timing.{key}", source)
        if isinstance(value, tuple) and any(not item.strip() for item in value):
            raise ScorecardError(f"{source}: timing.{key} has an empty phrase")
        # The field's allowed range (qa_pipeline.measures.settings): (low, high, whether low itself is allowed).
        bounds = fields[key].metadata.get("bounds")
        if bounds:
            low, high, low_allowed = bounds
            if not (low <= value if low_allowed else low < value) or value > high:
                above = f"between {low} and {high}" if low_allowed else f"above {low} and at most {high}"
                raise ScorecardError(f"{source}: timing.{key} must be {above}")
    if values["ringback"] not in RINGBACK_PRESETS:
        raise ScorecardError(
            f"{source}: timing.ringback {values['ringback']!r} is not a ringback preset"
            f" (known: {', '.join(RINGBACK_PRESETS)})"
        )
    return TimingSettings(**values)


def _roles(data: dict[str, Any], min_similarity: float, source: str) -> RoleSettings:
    """The optional [roles] table over RoleSettings' defaults."""
    table = _table(data, "roles", {"agent_cues", "customer_cues", "min_confidence"}, source)
    defaults = RoleSettings(min_similarity=min_similarity)
    cues: dict[str, tuple[tuple[str, float], ...]] = {}
    for key in ("agent_cues", "customer_cues"):
        if key not in table:
            cues[key] = getattr(defaults, key)
            continue
        entries = _coerce(table[key], dict[str, float], f"roles.{key}", source)
        if not entries or any(not phrase.strip("| ") or weight <= 0 for phrase, weight in entries.items()):
            raise ScorecardError(f"{source}: roles.{key} needs phrases with weights above 0")
        cues[key] = tuple(entries.items())
    min_confidence = _coerce(
        table.get("min_confidence", defaults.min_confidence), float, "roles.min_confidence", source
    )
    if not 0.0 <= min_confidence <= 1.0:
        raise ScorecardError(f"{source}: roles.min_confidence must be between 0 and 1")
    return RoleSettings(cues["agent_cues"], cues["customer_cues"], min_confidence, min_similarity)


def _kpis(data: dict[str, Any], source: str) -> KpiSettings:
    """The optional [kpis] table over KpiSettings' defaults: every window must be above 0."""
    names = {f.name for f in dataclasses.fields(KpiSettings)}
    table = _table(data, "kpis", names, source)
    values = {key: _coerce(value, float, f"kpis.{key}", source) for key, value in table.items()}
    for key, value in values.items():
        if not value > 0:
            raise ScorecardError(f"{source}: kpis.{key} must be above 0")
    return KpiSettings(**values)


def _input(data: dict[str, Any], source: str) -> InputSettings:
    """The optional [input] table: what counts as a call (qa_pipeline.audio.screening)."""
    table = _table(data, "input", {"min_duration_s", "silence_dbfs"}, source)
    defaults = InputSettings()
    min_duration_s = _coerce(
        table.get("min_duration_s", defaults.min_duration_s), float, "input.min_duration_s", source
    )
    silence_dbfs = _coerce(table.get("silence_dbfs", defaults.silence_dbfs), float, "input.silence_dbfs", source)
    if not 0.0 <= min_duration_s <= 600.0:
        raise ScorecardError(f"{source}: input.min_duration_s must be between 0 and 600")
    if not -120.0 <= silence_dbfs <= 0.0:
        raise ScorecardError(f"{source}: input.silence_dbfs must be between -120 and 0")
    return InputSettings(min_duration_s, silence_dbfs)


def _privacy(data: dict[str, Any], source: str) -> PrivacySettings:
    """The optional [privacy] table: redaction and the caller-number hash (qa_pipeline.privacy.protect)."""
    keys = {"redact", "redact_kinds", "min_digits", "keep_leading", "hash_caller_number", "salt_file"}
    table = _table(data, "privacy", keys, source)
    base, defaults = RedactionSettings(), PrivacySettings()
    kinds = _coerce(table.get("redact_kinds", list(base.kinds)), tuple[str, ...], "privacy.redact_kinds", source)
    unknown = [kind for kind in kinds if kind not in ENTITY_KINDS]
    if unknown:
        raise ScorecardError(
            f"{source}: privacy.redact_kinds: unknown kind {unknown[0]!r} (known: {', '.join(ENTITY_KINDS)})"
        )
    min_digits = _coerce(table.get("min_digits", base.min_digits), int, "privacy.min_digits", source)
    keep_leading = _coerce(table.get("keep_leading", base.keep_leading), int, "privacy.keep_leading", source)
    if not 3 <= min_digits <= 32:
        raise ScorecardError(f"{source}: privacy.min_digits must be between 3 and 32")
    if not 0 <= keep_leading <= 4:
        raise ScorecardError(f"{source}: privacy.keep_leading must be between 0 and 4")
    redaction = RedactionSettings(
        enabled=_coerce(table.get("redact", base.enabled), bool, "privacy.redact", source),
        kinds=kinds,
        min_digits=min_digits,
        keep_leading=keep_leading,
    )
    return PrivacySettings(
        redaction=redaction,
        hash_caller_number=_coerce(
            table.get("hash_caller_number", defaults.hash_caller_number), bool, "privacy.hash_caller_number", source
        ),
        salt_file=_coerce(table.get("salt_file", defaults.salt_file), str, "privacy.salt_file", source),
    )


def _meaning(matching: dict[str, Any], source: str) -> MeaningSettings:
    """[matching] meaning, min_meaning_similarity, min_meaning_margin (text.meaning)."""
    defaults = MeaningSettings()
    enabled = _coerce(matching.get("meaning", defaults.enabled), bool, "matching.meaning", source)
    similarity = _coerce(
        matching.get("min_meaning_similarity", defaults.min_similarity),
        float,
        "matching.min_meaning_similarity",
        source,
    )
    margin = _coerce(
        matching.get("min_meaning_margin", defaults.min_margin), float, "matching.min_meaning_margin", source
    )
    if not 0.5 <= similarity <= 1.0:
        raise ScorecardError(f"{source}: matching.min_meaning_similarity must be between 0.5 and 1.0")
    if not 0.0 <= margin <= 0.5:
        raise ScorecardError(f"{source}: matching.min_meaning_margin must be between 0.0 and 0.5")
    return MeaningSettings(enabled, similarity, margin)


def _audio_verify(matching: dict[str, Any], source: str) -> VerifySettings:
    """[matching] audio_verify, min_audio_probability (asr.verify)."""
    defaults = VerifySettings()
    enabled = _coerce(matching.get("audio_verify", defaults.enabled), bool, "matching.audio_verify", source)
    probability = _coerce(
        matching.get("min_audio_probability", defaults.min_probability), float, "matching.min_audio_probability", source
    )
    if not 0.05 <= probability <= 0.99:
        raise ScorecardError(f"{source}: matching.min_audio_probability must be between 0.05 and 0.99")
    return VerifySettings(enabled=enabled, min_probability=probability)


def parse_scorecard(data: dict[str, Any], source: str) -> Scorecard:
    for key in data:
        if key not in ("scorecard", "center", "matching", "checks", "timing", "roles", "kpis", "input", "privacy"):
            raise ScorecardError(f"{source}: unknown top-level key {key!r}")
    head = _table(data, "scorecard", {"name", "pass_score", "min_judged_share"}, source)
    center = _table(data, "center", {"organisations", "asr_prompt"}, source)
    matching = _table(
        data,
        "matching",
        {
            "min_similarity",
            "meaning",
            "min_meaning_similarity",
            "min_meaning_margin",
            "audio_verify",
            "min_audio_probability",
        },
        source,
    )
    checks_table = data.get("checks", {})
    if not isinstance(checks_table, dict):
        raise ScorecardError(f"{source}: [checks] must be a table")

    name = _coerce(head.get("name", Path(source).stem), str, "scorecard.name", source)
    pass_score = _coerce(head.get("pass_score", 80.0), float, "scorecard.pass_score", source)
    if not 0 <= pass_score <= 100:
        raise ScorecardError(f"{source}: scorecard.pass_score must be between 0 and 100")
    min_judged_share = _coerce(
        head.get("min_judged_share", DEFAULT_MIN_JUDGED_SHARE), float, "scorecard.min_judged_share", source
    )
    if not 0 <= min_judged_share <= 1:
        raise ScorecardError(f"{source}: scorecard.min_judged_share must be between 0 and 1")
    organisations = _coerce(center.get("organisations", []), tuple[str, ...], "center.organisations", source)
    asr_prompt = _coerce(center.get("asr_prompt", ""), str, "center.asr_prompt", source)
    min_similarity = _coerce(matching.get("min_similarity", 0.85), float, "matching.min_similarity", source)
    if not 0.5 <= min_similarity <= 1.0:
        raise ScorecardError(f"{source}: matching.min_similarity must be between 0.5 and 1.0")
    meaning = _meaning(matching, source)
    audio_verify = _audio_verify(matching, source)

    checks: dict[str, CheckSettings] = {}
    for check_id, table in checks_table.items():
        if check_id not in REGISTRY:
            raise ScorecardError(f"{source}: unknown check [checks.{check_id}] (known: {', '.join(sorted(REGISTRY))})")
        checks[check_id] = _settings(REGISTRY[check_id], table, source)
    missing = sorted(set(REGISTRY) - set(checks))
    if missing:
        raise ScorecardError(
            f"{source}: no settings for checks {missing} (the default scorecard must list every check)"
        )
    # The default scorecard's order is the display order, whatever the center's file says.
    checks = {cid: checks[cid] for cid in display_order()}
    timing = _timing(data, source)
    roles = _roles(data, min_similarity, source)
    kpis = _kpis(data, source)
    input_settings = _input(data, source)
    privacy = _privacy(data, source)

    canonical = json.dumps(
        {
            "name": name,
            "pass_score": pass_score,
            "min_judged_share": min_judged_share,
            "organisations": organisations,
            "asr_prompt": asr_prompt,
            "min_similarity": min_similarity,
            "meaning": dataclasses.asdict(meaning),
            "audio_verify": dataclasses.asdict(audio_verify),
            "checks": {cid: dataclasses.asdict(s) for cid, s in sorted(checks.items())},
            "timing": dataclasses.asdict(timing),
            "roles": dataclasses.asdict(roles),
            "kpis": dataclasses.asdict(kpis),
            "input": dataclasses.asdict(input_settings),
            "privacy": dataclasses.asdict(privacy),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return Scorecard(
        name=name,
        pass_score=pass_score,
        organisations=organisations,
        asr_prompt=asr_prompt,
        min_similarity=min_similarity,
        meaning=meaning,
        audio_verify=audio_verify,
        checks=checks,
        source=source,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        timing=timing,
        roles=roles,
        kpis=kpis,
        input=input_settings,
        privacy=privacy,
        min_judged_share=min_judged_share,
    )


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScorecardError(f"{source}: not valid TOML: {error}") from error


def _layer(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`, table by table; non-table values (lists too) replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _layer(base[key], value)
        else:
            merged[key] = value
    return merged


def default_scorecard_data() -> dict[str, Any]:
    text = (resources.files("qa_pipeline.config") / DEFAULT_SCORECARD).read_text(encoding="utf-8")
    return _read_toml(text, DEFAULT_SCORECARD)


@functools.cache
def display_order() -> tuple[str, ...]:
    """Check ids in the order of their tables in the default scorecard: how checks are run and shown."""
    return tuple(default_scorecard_data().get("checks", {}))


def load_scorecard(path: Path | str | None = None) -> Scorecard:
    """Load and validate a scorecard file layered over the default; None loads the default itself."""
    defaults = default_scorecard_data()
    if path is None:
        return parse_scorecard(defaults, f"<default {DEFAULT_SCORECARD}>")
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScorecardError(f"{source}: cannot read scorecard: {error}") from error
    # Errors name the center's file: the layered keys it did not set come from the validated default.
    return parse_scorecard(_layer(defaults, _read_toml(text, source)), source)
