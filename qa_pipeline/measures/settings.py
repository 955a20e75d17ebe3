"""How the call's timings are measured: the scorecard's [timing] table (the limits live in the checks' tables).

Each numeric setting carries its allowed range as field metadata, `bounds`: (low, high, low_inclusive); the
high end is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.measures.acoustics import RINGBACK_PRESETS, RingbackPreset


@dataclass(frozen=True)
class TimingSettings:
    """How the timings are measured: the scorecard's [timing] table (limits live in the checks' tables)."""

    ringback: str = "china"  # a preset of acoustics.RINGBACK_PRESETS
    min_overlap_s: float = field(default=0.5, metadata={"bounds": (0.0, 10.0, True)})
    # On a mono recording an overlap is read from the mixed signal (asr.overlap), about 0.15 s less exactly
    # than from two channels: it counts when at least min_overlap_s + this long.
    mono_overlap_margin_s: float = field(default=0.1, metadata={"bounds": (0.0, 5.0, True)})
    backchannels: tuple[str, ...] = ("嗯", "对", "好的", "好", "是", "是的", "哦", "嗯嗯", "对对", "行")
    hold_phrases: tuple[str, ...] = (
        "请您稍等",
        "请稍等",
        "稍等一下",
        "请您稍候",
        "请稍候",
        "我帮您查一下",
        "请不要挂机",
    )
    hold_notice_within_s: float = field(default=5.0, metadata={"bounds": (0.0, 60.0, True)})
    topic_phrases: tuple[str, ...] = ("回访", "给您打电话", "打扰您", "满意度", "调查")
    # Shorter gaps are turn-taking; listed silences and holds are at least this long.
    min_silence_s: float = field(default=2.0, metadata={"bounds": (0.1, 60.0, True)})
    cut_off_within_s: float = field(default=0.3, metadata={"bounds": (0.0, 5.0, True)})
    farewells: tuple[str, ...] = ("再见", "拜拜", "再会")
    raised_rise_db: float = field(default=6.0, metadata={"bounds": (0.0, 40.0, False)})
    raised_rise_semitones: float = field(default=3.0, metadata={"bounds": (0.0, 24.0, False)})
    raised_min_s: float = field(default=1.5, metadata={"bounds": (0.0, 60.0, False)})

    @property
    def preset(self) -> RingbackPreset:
        return RINGBACK_PRESETS[self.ringback]
