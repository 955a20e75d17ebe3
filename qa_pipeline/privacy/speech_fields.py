"""Which fields of the stored records carry speech, and walking them: the privacy stage masks what they mark.

A str, str | None or dict field of a record the privacy stage sees (Measures and the records in it,
CheckResult, CallMetadata) says in its field metadata whether it carries speech, and so is masked before
the call is stored:

    hold_notice: str | None = field(default=None, metadata={"speech": "call_events:hold@{start_s}"})
    check_id: str = field(metadata={"speech": None})

"speech"  the `redactions.location` of what is masked in the field: a str.format template whose
          {name}s are fields of the same record ("check_results:{check_id}"); None: the field carries
          no speech (ids, enum-like sources, tags) and is stored as it is.
"as"      how the field is masked, "text" when left out:
            "text"   a transcript text (str or None): masked as the segments it quotes are stored
                     (Collector.text in qa_pipeline.privacy.protect), one row per entity with offsets;
            "value"  JSON-like (a dict of free text: CheckResult.detail, CallMetadata.extra): every
                     string in it masked, one row per entity with kind "json" and offsets -1;
            "hash"   a caller number ("speech" None): replaced by its keyed hash when there is a salt,
                     no row.

The walk visits fields in declaration order, recursing into nested records, tuples and lists of them and
Optional records, so the rows come out in the order the fields are declared. A field without a "speech"
marker that holds text would be stored unmasked: unmarked_fields finds such fields, and a test keeps it
empty.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

SPEECH = "speech"
AS = "as"
AS_TEXT = "text"
AS_VALUE = "value"
AS_HASH = "hash"
MASKED_AS = (AS_TEXT, AS_VALUE, AS_HASH)


class Masker(Protocol):
    """What the walk masks with (qa_pipeline.privacy.protect's collector of redactions)."""

    def text(self, text: str | None, location: str) -> str | None: ...

    def value(self, value: Any, location: str) -> Any: ...


def protect_record(record: Any, mask: Masker, hash_number: Callable[[str], str | None] | None) -> Any:
    """`record` (a dataclass instance) with each field marked as speech masked through `mask`, each "hash"
    field hashed with `hash_number` (kept when it is None), and the records nested in unmarked fields
    walked the same way, field by field in declaration order. Unchanged parts are returned as they are."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if SPEECH not in f.metadata:
            new = _walk(value, mask, hash_number)
        else:
            template, masked_as = f.metadata[SPEECH], f.metadata.get(AS, AS_TEXT)
            if masked_as == AS_HASH:
                new = value if value is None or hash_number is None else hash_number(value)
            elif template is None:
                continue
            else:
                location = template.format_map({g.name: getattr(record, g.name) for g in dataclasses.fields(record)})
                if masked_as == AS_VALUE:
                    new = mask.value(dict(value) if isinstance(value, Mapping) else value, location)
                else:
                    new = mask.text(value, location)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(record, **changes) if changes else record


def _walk(value: Any, mask: Masker, hash_number: Callable[[str], str | None] | None) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return protect_record(value, mask, hash_number)
    if isinstance(value, list):
        return [_walk(item, mask, hash_number) for item in value]
    if type(value) is tuple:
        items = tuple(_walk(item, mask, hash_number) for item in value)
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value


# -- checking the markers -------------------------------------------------------------------------------


def unmarked_fields(*roots: type) -> list[str]:
    """Fields of `roots` and of the records reachable from them (nested, in tuples or lists, Optional) that
    may hold text (a str, dict or Any anywhere in their type) but have no "speech" marker, or whose marker
    is malformed: "Record.field: why", for a test to name them."""
    problems: list[str] = []
    seen: set[type] = set()
    pending = list(roots)
    while pending:
        record = pending.pop(0)
        if record in seen:
            continue
        seen.add(record)
        hints = typing.get_type_hints(record)
        names = {f.name for f in dataclasses.fields(record)}
        for f in dataclasses.fields(record):
            where = f"{record.__qualname__}.{f.name}"
            leaves = list(_leaf_types(hints[f.name]))
            pending += [leaf for leaf in leaves if isinstance(leaf, type) and dataclasses.is_dataclass(leaf)]
            if SPEECH not in f.metadata:
                if any(leaf is str or leaf is Any or leaf is dict for leaf in leaves):
                    problems.append(f'{where}: holds text but has no "speech" marker')
                continue
            problems += [f"{where}: {why}" for why in _marker_problems(f.metadata, names)]
    return problems


def _marker_problems(metadata: Mapping[str, Any], names: set[str]) -> Iterator[str]:
    template, masked_as = metadata[SPEECH], metadata.get(AS, AS_TEXT)
    if masked_as not in MASKED_AS:
        yield f'"as" is {masked_as!r}, not one of {", ".join(MASKED_AS)}'
    if masked_as == AS_HASH:
        if template is not None:
            yield '"as": "hash" records no location: "speech" must be None'
        return
    if template is None:
        return
    if not isinstance(template, str):
        yield f'"speech" must be a location template or None, not {template!r}'
        return
    try:
        template.format_map({name: "" for name in names})
    except (KeyError, IndexError, ValueError) as error:
        yield f'"speech" template {template!r} names no field of the record: {error}'


def _leaf_types(hint: Any) -> Iterator[Any]:
    """The types a value of type `hint` is made of: X | None -> X, tuple[X, ...] -> X, dict[K, V] -> dict."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(hint):
            yield from _leaf_types(arg)
    elif origin in (tuple, list):
        for arg in typing.get_args(hint):
            if arg is not Ellipsis:
                yield from _leaf_types(arg)
    elif isinstance(origin or hint, type) and issubclass(origin or hint, Mapping):
        yield dict
    else:
        yield hint
