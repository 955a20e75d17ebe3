"""What a run did, for the operator: calls scored, failed and skipped, where the time went. One type for
every kind of run (a folder of recordings, a transcript file); the database's `runs` row holds the same
counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.kpis.organisations import organisations_line


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    calls_ok: int = 0  # stored: scored from the audio, or re-judged
    calls_rejudged: int = 0  # of calls_ok: verdicts made again from the inputs kept (scorecard changed)
    calls_failed: int = 0
    calls_unchanged: int = 0  # already scored from the same inputs: skipped
    outside_window: int = 0  # recordings left out by the date window
    duplicates: int = 0  # files holding audio another file of the batch holds: listed, scored once
    reasons: dict[str, int] = field(default_factory=dict)  # why calls were scored: new, scorecard changed, ...
    audio_s: float = 0.0
    wall_s: float = 0.0
    workers: str = ""
    avg_qa_score: float | None = None  # of the calls scored in this run
    qa_pass_rate: float | None = None
    # (where, stage, error): where = the recording, or a transcript file#line; the error as stored (masked)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    report_path: str | None = None  # the HTML report written after the run
    # Wall seconds per stage, summed over the calls of the run (calls scored at once overlap, so the sum
    # can exceed wall_s): where the run's time went.
    stage_s: dict[str, float] = field(default_factory=dict)
    # With no [center].organisations: the names the agents' greetings used, ASR variants that sound alike
    # merged under the most frequent spelling, with their calls, most frequent first (kpis organisations_named)
    organisations_named: list[tuple[str, int]] = field(default_factory=list)

    def add_stage_seconds(self, seconds: dict[str, float]) -> None:
        for stage, spent in seconds.items():
            self.stage_s[stage] = self.stage_s.get(stage, 0.0) + spent

    @property
    def throughput(self) -> float:
        """Seconds of audio scored per second of wall time (x real time)."""
        return self.audio_s / self.wall_s if self.wall_s else 0.0

    def describe_stages(self) -> str:
        """'transcribe 120.3 s (88%), measure 3.1 s (2%), ...': the stages by time spent, largest first."""
        total = sum(self.stage_s.values()) or 1.0
        return ", ".join(
            f"{stage} {spent:.1f} s ({spent / total:.0%})"
            for stage, spent in sorted(self.stage_s.items(), key=lambda item: -item[1])
        )

    def organisations_notice(self) -> str | None:
        """What the operator reads when the scorecard names no organisation: the names heard and the line
        that confirms them."""
        if not self.organisations_named:
            return None
        heard = ", ".join(f"{name} ({calls} calls)" for name, calls in self.organisations_named)
        line = organisations_line(name for name, _ in self.organisations_named)
        return (
            f"no [center].organisations in the scorecard: the greetings named {heard}; to confirm them,"
            f" put in the scorecard: {line}"
        )
