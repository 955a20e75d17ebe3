"""The call type: from metadata when the switch/CRM gives it, else inferred from what was said.

The call type decides which checks apply (a rescue call must collect the plate number, a survey call
must get to the point within 10 s), so a call without one is not left untyped: it is inferred from
cue phrases of the call types the standards describe (003: 咨询/投诉/救援/预约/回访; 001: 咨询/投诉/
维修/回访) and stored with `call_type_source = 'inferred'`.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.text.matching import find_phrase

# Cue phrases per call type, in priority order: on a tie the earlier type wins (a complaint about a
# broken lift mentions 坏了 too, a rescue call is also a request for repair).
CUES: dict[str, tuple[str, ...]] = {
    "rescue": ("救援", "抛锚", "拖车", "打不着火", "爆胎", "车坏了", "车牌号", "故障现象"),
    "complaint": ("投诉", "太吵", "受不了", "太过分", "不满意", "怎么回事", "到底什么时候"),
    "survey": ("满意度", "满意度调查", "服务满意吗", "打分", "评价一下"),
    "callback": ("回访", "上次报修", "上次您反映", "修好了吗", "维修情况"),
    "repair": ("维修", "报修", "漏水", "坏了", "堵了", "修一下", "打不开", "不亮"),
    "appointment": ("预约", "约个时间", "上门时间", "约一下"),
    "inquiry": ("想问一下", "咨询", "请问一下", "怎么交", "多少钱", "怎么办理"),
}
# The standards' outbound calls are return visits (001 回访; 003 第七章 回访); everything else is a
# customer calling in.
OUTBOUND_TYPES = ("survey", "callback")
# When no cue phrase is said: a customer who called in wants something of the service (001 咨询, 003 第三章
# 客户咨询: the general inbound call), and the standards' outbound call is a return visit (003 第七章 回访).
# An untyped call would switch off every check scoped to call types; 'other' is left for an unknown direction.
NO_CUE_TYPES = {"inbound": "inquiry", "outbound": "callback"}
# Cue phrases decide the type of a whole call, so a fuzzy near-miss is not enough: seen on a sample
# call, 到底什么时候 matched "…八。您什么时候" at 0.91 and turned a repair call into a complaint.
CUE_MIN_SIMILARITY = 0.95


@dataclass(frozen=True)
class CallType:
    value: str | None
    source: str | None  # 'metadata' | 'inferred' | None
    cues: tuple[str, ...] = ()  # the phrases that decided an inferred type


def infer_call_type(transcript: Transcript, direction: str | None = None) -> CallType:
    """The call type whose cue phrases occur most often in the transcript. When none do: inquiry on an
    inbound call, callback on an outbound one (NO_CUE_TYPES), 'other' when the direction is unknown too.

    Only return-visit types (survey, callback) are considered on an outbound call, and only the
    others on an inbound one; with no direction known, all are.
    """
    text = "".join(segment.text for segment in transcript.segments)
    best: tuple[int, str, tuple[str, ...]] | None = None
    for call_type, cues in CUES.items():
        if direction and (direction == "outbound") != (call_type in OUTBOUND_TYPES):
            continue
        found = tuple(cue for cue in cues if find_phrase(text, cue, CUE_MIN_SIMILARITY))
        if found and (best is None or len(found) > best[0]):
            best = (len(found), call_type, found)
    if best is None:
        return CallType(NO_CUE_TYPES.get(direction or "", "other"), "inferred")
    return CallType(best[1], "inferred", best[2])


def resolve_call_type(metadata_type: str | None, transcript: Transcript, direction: str | None) -> CallType:
    if metadata_type:
        return CallType(metadata_type, "metadata")
    return infer_call_type(transcript, direction)
