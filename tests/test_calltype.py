"""Call type: metadata wins; otherwise inferred from cue phrases in the transcript."""

from __future__ import annotations

import pytest

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.checks.call_type import CUES, infer_call_type, resolve_call_type


def _transcript(*texts: str) -> Transcript:
    return Transcript(tuple(Segment("unknown", i, i + 1.0, t) for i, t in enumerate(texts)), "none", "test")


@pytest.mark.parametrize(
    ("texts", "direction", "expected"),
    [
        (("您好，请问有什么可以帮您？", "我的车在高速上抛锚了，需要拖车。"), "inbound", "rescue"),
        (("我要投诉，楼上装修太吵了，受不了。",), "inbound", "complaint"),
        (("我家厨房漏水了，想报修。",), "inbound", "repair"),
        (("我想预约一下上门时间。",), "inbound", "appointment"),
        (("您好，这里是客服中心，对上次报修做个回访，修好了吗？",), "outbound", "callback"),
        (("您好，我们做个满意度调查，请您给我们的服务打分。",), "outbound", "survey"),
        (("你好，我想问一下水费怎么交？",), "inbound", "inquiry"),
        (("今天天气不错。",), None, "other"),
        # No cue at all: a call in is a service request (inquiry), a call out a return visit (callback)
        (("您好，我的卡被冻结了，帮我看看。",), "inbound", "inquiry"),
        (("您好，我是社区的工作人员，跟您说一下停电的安排。",), "outbound", "callback"),
        # ASR homophones still give the type: 包修 for 报修, 楼水 for 漏水 (identical pinyin)
        (("我家楼水了，想包修。",), "inbound", "repair"),
    ],
)
def test_inferred_type(texts: tuple[str, ...], direction: str | None, expected: str) -> None:
    inferred = infer_call_type(_transcript(*texts), direction)
    assert (inferred.value, inferred.source) == (expected, "inferred")
    no_cue = all(not any(cue in text for cue in cues) for text in texts for cues in CUES.values())
    assert no_cue or inferred.cues


def test_return_visit_cues_do_not_make_an_inbound_call_a_survey() -> None:
    transcript = _transcript("我想问一下，你们那个满意度调查怎么打分？")
    assert infer_call_type(transcript, "inbound").value == "inquiry"
    assert infer_call_type(transcript, "outbound").value == "survey"


def test_metadata_type_wins_over_the_transcript() -> None:
    resolved = resolve_call_type("inquiry", _transcript("我要投诉！太过分了！"), "inbound")
    assert (resolved.value, resolved.source) == ("inquiry", "metadata")


def test_outbound_calls_are_return_visits() -> None:
    # A survey call where the customer complains is still a survey call.
    transcript = _transcript("您好，我是客服，想做个服务回访。", "请问您对我们的服务满意吗？", "不太满意，我真受不了。")
    assert infer_call_type(transcript, "outbound").value == "survey"


def test_a_near_miss_cue_does_not_decide_the_type() -> None:
    # 八。您什么时候 is not 到底什么时候 (fuzzy pinyin 0.91): the call stays a repair call.
    transcript = _transcript("下水道堵了。", "请问您住哪一栋？十二栋一零零八。您什么时候方便师傅上门？")
    assert infer_call_type(transcript, "inbound").value == "repair"
