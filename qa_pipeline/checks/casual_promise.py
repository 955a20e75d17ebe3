from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from qa_pipeline.checks.base import PhraseBanCheck, PhraseBanSettings, SegmentMatch, register

# How far back in its clause a hedge may stand before the promise: 不能百分之百, 不敢说绝对没问题.
HEDGE_WINDOW_CHARS = 6


@dataclass(frozen=True, kw_only=True)
class CasualPromiseSettings(
    PhraseBanSettings
):  # Words that take the promise back when they stand shortly before it in the same clause
    # (我们不能百分之百保证) or right after it (这个我保证不了).
    hedges_before: tuple[str, ...]
    hedges_after: tuple[str, ...]


def _clause_before(text: str, end: int) -> str:
    """The last `HEDGE_WINDOW_CHARS` characters before `end`, not reaching past punctuation."""
    clause = ""
    for char in reversed(text[:end]):
        if char.isspace():
            continue
        if unicodedata.category(char)[0] not in ("L", "N") or len(clause) >= HEDGE_WINDOW_CHARS:
            break
        clause = char + clause
    return clause


@register
class CasualPromise(PhraseBanCheck):
    """The agent makes no casual promise it cannot be sure to keep.

    Standard: 001: 5 (咨询 i / 投诉 k / 回访 j "此过程当中…不可随意许诺"); 004: 55 (promise a process and
    a time, "我会在[时间段]内将您的问题反馈给相关部门", not an outcome). Fails on the first agent
    utterance with one of `phrases` (我保证, 百分之百, 包在我身上) that no hedge takes back: a phrase
    of `hedges_before` shortly before it in its clause (不能百分之百) or of `hedges_after` right after
    it (我保证不了). A negated phrase (我不能保证) is no promise; what the customer says never counts.
    """

    id = "casual_promise"
    Settings = CasualPromiseSettings
    settings: CasualPromiseSettings

    def excused(self, match: SegmentMatch) -> bool:
        text = match.segment.text
        before = _clause_before(text, match.char_start)
        phrase = text[match.char_start : match.char_end]
        said = phrase + text[match.char_end :].lstrip()

        def runs_on(hedge: str) -> bool:
            """Right after the phrase (我保证 + 不了), or begun inside it and running past its end (保证不 + 了)."""
            at = said.find(hedge)
            return 0 <= at <= len(phrase) < at + len(hedge)

        return any(h in before for h in self.settings.hedges_before) or any(map(runs_on, self.settings.hedges_after))
