"""Masking personal data in call transcripts before anything is stored.

Customers read out phone numbers, ID-card numbers (身份证号), bank-card numbers, addresses and their
names. The database keeps transcripts and check evidence for months and is read by many people, so
these are masked first (found by qa_pipeline.text.personal_data): the kind of entity is kept (a
reviewer still sees that the agent asked for and got a phone number), the characters are not. Masking
is length-preserving, one mask character per masked character, so every character offset computed on
the original text (check evidence spans, segment offsets) stays valid in the stored text.

A masked number keeps its first `keep_leading` digit characters (phone 13800138000 -> 1**********); every
later one, the ID's X included, is replaced by the mask, and separators, fillers and punctuation between
its groups stay as said. Addresses (only their numbers) and names are masked whole. A caller number from
the switch is not masked but hashed (hash_caller_number).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa_pipeline.text.numbers import DIGIT_VALUES, ID_CHECK_X, NUMBER_KINDS, Entity, with_spoken_ones
from qa_pipeline.text.personal_data import (
    DEFAULT_MASK,
    DEFAULT_MIN_DIGITS,
    ENTITY_KINDS,
    find_personal_data_in_utterances,
)


@dataclass(frozen=True)
class RedactionSettings:
    """What is masked and how (the scorecard's [privacy] table)."""

    enabled: bool = True
    kinds: tuple[str, ...] = ENTITY_KINDS  # which kinds are masked
    min_digits: int = DEFAULT_MIN_DIGITS  # a run this long that is not a phone/ID/bank card is a "number"
    keep_leading: int = 1  # digits left visible at the start of a masked number (phone 1**********)
    mask: str = DEFAULT_MASK  # exactly one character, so masking keeps every offset

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))  # a list from a config file is fine too
        for kind in self.kinds:
            if kind not in ENTITY_KINDS:
                raise ValueError(f"RedactionSettings.kinds: unknown kind {kind!r} (known: {', '.join(ENTITY_KINDS)})")
        if self.min_digits < 3:
            raise ValueError(f"RedactionSettings.min_digits must be at least 3, not {self.min_digits}")
        if self.keep_leading < 0:
            raise ValueError(f"RedactionSettings.keep_leading must not be negative, not {self.keep_leading}")
        if len(self.mask) != 1:
            raise ValueError(f"RedactionSettings.mask must be exactly one character, not {self.mask!r}")
        # A digit as the mask would turn masked numbers into new numbers.
        if self.mask in DIGIT_VALUES or self.mask in ID_CHECK_X:
            raise ValueError(f"RedactionSettings.mask must not be a digit character, not {self.mask!r}")


DEFAULT_SETTINGS = RedactionSettings()


@dataclass(frozen=True)
class Redacted:
    text: str
    entities: tuple[Entity, ...]  # the entities that were masked, in text order


def redact_text(text: str, settings: RedactionSettings = DEFAULT_SETTINGS) -> Redacted:
    """`text` with the entities whose kind is in settings.kinds masked (nothing when not enabled), and
    those entities. The result has the same length as `text`."""
    return redact_utterances((text,), settings)[0]


def redact_utterances(texts: Sequence[str], settings: RedactionSettings = DEFAULT_SETTINGS) -> list[Redacted]:
    """redact_text of each of `texts`, consecutive utterances of one speaker, with the numbers read from one
    utterance into the next masked too (find_personal_data_in_utterances); `keep_leading` counts the digits of
    such a number from its first utterance on."""
    if not settings.enabled:
        return [Redacted(text, ()) for text in texts]
    found = find_personal_data_in_utterances(texts, settings)
    return [
        _masked(text, tuple(e for e in entities if e.kind in settings.kinds), settings)
        for text, entities in zip(texts, found, strict=True)
    ]


def _masked(text: str, entities: tuple[Entity, ...], settings: RedactionSettings) -> Redacted:
    chars = list(text)
    read_as = with_spoken_ones(text)
    for entity in entities:
        if entity.kind in NUMBER_KINDS:
            visible = max(settings.keep_leading - entity.digits_before, 0)
            for i in range(entity.start, entity.end):
                if read_as[i] in DIGIT_VALUES or (i == entity.end - 1 and chars[i] in ID_CHECK_X):
                    if visible > 0:
                        visible -= 1
                    else:
                        chars[i] = settings.mask
        else:
            chars[entity.start : entity.end] = settings.mask * (entity.end - entity.start)
    return Redacted("".join(chars), entities)


def redact_value(value: Any, settings: RedactionSettings = DEFAULT_SETTINGS) -> tuple[Any, int]:
    """A JSON-like value (dict/list/tuple/str/number/None) with every string in it redacted (dict values
    and list items, not dict keys, which are field names), and the number of entities masked."""
    if isinstance(value, str):
        redacted = redact_text(value, settings)
        return redacted.text, len(redacted.entities)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for key, item in value.items():
            out[key], count = redact_value(item, settings)
            total += count
        return out, total
    if isinstance(value, list | tuple):
        items = []
        total = 0
        for item in value:
            new, count = redact_value(item, settings)
            items.append(new)
            total += count
        return (tuple(items) if isinstance(value, tuple) else items), total
    return value, 0  # numbers, booleans, None: a bare number field is not a transcript


def normalize_phone_number(number: str) -> str | None:
    """A caller number as the switch exports it -> its digits, without a +86/0086/86 country prefix when
    the rest is a Chinese number (mobile 1 + 10 digits, or a 0-prefixed landline); after a country prefix
    the trunk 0 dropped before an area code is restored (+86 21 1234 5678 -> 02112345678). Spaces,
    dashes, parentheses and any other non-digits are dropped. None when there is no digit at all."""
    # A switch exports ASCII (sometimes full-width) digits, never spoken ones.
    digits = "".join(DIGIT_VALUES[c] for c in number if "0" <= c <= "9" or "０" <= c <= "９")
    if not digits:
        return None
    for prefix in ("0086", "86"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            if (len(rest) == 11 and rest[0] == "1") or (rest[:1] == "0" and 10 <= len(rest) <= 12):
                return rest
            # No domestic number is 86 + 9-11 digits without a leading 0 or 1: an area code without its 0.
            if 9 <= len(rest) <= 11 and rest[0] in "23456789":
                return "0" + rest
    return digits


def hash_caller_number(number: str, salt: str) -> str | None:
    """A keyed hash of a caller number: HMAC-SHA256 with `salt` as the key over the normalized number,
    "h:" + 32 hex characters. The same number in any format gives the same hash (calls of one customer
    still link); without the salt it can neither be read nor recomputed from a list of all numbers.
    None when the number has no digits."""
    if not salt:
        raise ValueError("hash_caller_number: the salt must not be empty")
    normalized = normalize_phone_number(number)
    if normalized is None:
        return None
    digest = hmac.new(salt.encode(), normalized.encode(), hashlib.sha256).hexdigest()
    return "h:" + digest[:32]
