"""One score per call from its check results.

qa_score = 100 * sum(weight of applicable checks that passed) / sum(weight of applicable checks).
Not-applicable checks do not count. A failed fatal check caps the score at 0 and fails the call.
qa_passed = no fatal failure and qa_score >= the scorecard's pass_score.

Not every call can be judged (issue 19). A call gets no verdict (qa_score and qa_passed NULL, judged
false, not_judged_reason says why) when
- its speakers are not attributed ('no_speakers': mono with `--diarization none`, a transcript without
  speaker labels) or the roles could not be told apart ('roles_unclear': diarized, but role assignment
  stayed below [roles] min_confidence, so every segment is 'unknown'). Only the few speaker-independent
  checks (dead air, rings, call length) can apply there, and they would make such a call a perfect 100;
- no applicable check has weight ('no_checks');
- the applicable checks hold less than the scorecard's `min_judged_share` of the weight of all the call's
  checks ('too_few_checks'): judged_share = weight applicable / weight of every check result.
The scoring stage sees only what it is given: the check results and, explicitly, the transcript's
attribution (Attribution.of(transcript)); it never reads the database or later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.checks.base import CheckResult

# calls.not_judged_reason values (docs/schema.md)
NO_SPEAKERS = "no_speakers"
ROLES_UNCLEAR = "roles_unclear"
NO_CHECKS = "no_checks"
TOO_FEW_CHECKS = "too_few_checks"
NOT_JUDGED_REASONS = (NO_SPEAKERS, ROLES_UNCLEAR, NO_CHECKS, TOO_FEW_CHECKS)


@dataclass(frozen=True)
class Attribution:
    """What scoring needs to know of the transcript: whether agent and customer were told apart.

    speakers_known: some segment is 'agent' or 'customer' (stereo channels, a diarized mono call whose
    roles were assigned, a transcript file with speaker labels). roles_unclear: the call was diarized but
    role assignment could not tell which voice is the agent (role_confidence below [roles] min_confidence)."""

    speakers_known: bool = True
    roles_unclear: bool = False

    @classmethod
    def of(cls, transcript: Transcript) -> Attribution:
        known = transcript.has_speakers and any(s.speaker in ("agent", "customer") for s in transcript.segments)
        diarized = transcript.diarization in ("embedded", "pyannote")
        return cls(speakers_known=known, roles_unclear=not known and diarized)


@dataclass(frozen=True)
class CallScore:
    qa_score: float | None
    qa_passed: bool | None
    fatal_failures: tuple[str, ...] = ()
    applicable_checks: int = 0
    pass_score: float | None = None  # the scorecard's pass mark it was judged against
    judged: bool = True  # False: the machine has no verdict on this call; qa_score and qa_passed are None
    not_judged_reason: str | None = None  # one of NOT_JUDGED_REASONS when not judged
    # weight of the applicable checks / weight of all the call's checks (None: no weighted check at all);
    # information, not part of the verdict
    judged_share: float | None = field(default=None, compare=False)
    min_judged_share: float = 0.0  # the scorecard's mark it was judged against (lets a reviewed call be re-judged)


def score_call(
    results: Sequence[CheckResult],
    pass_score: float,
    attribution: Attribution | None = None,
    min_judged_share: float = 0.0,
) -> CallScore:
    """The call's score. `attribution` None: the speakers are taken as known (callers that only have
    check results); `min_judged_share`: the scorecard's [scorecard] min_judged_share (0: any applicable
    weight is enough)."""
    applicable = [r for r in results if r.applicable]
    total = sum(r.weight for r in applicable)
    all_weight = sum(r.weight for r in results if r.weight > 0)
    share = round(max(total, 0.0) / all_weight, 3) if all_weight > 0 else None
    fatal = tuple(r.check_id for r in applicable if r.fatal and r.passed is False)
    reason = None
    if attribution is not None and not attribution.speakers_known:
        reason = ROLES_UNCLEAR if attribution.roles_unclear else NO_SPEAKERS
    elif not applicable or total <= 0:
        reason = NO_CHECKS
    elif share is not None and share < min_judged_share:
        reason = TOO_FEW_CHECKS
    if reason is not None:
        return CallScore(None, None, fatal, len(applicable), pass_score, False, reason, share, min_judged_share)
    earned = sum(r.weight for r in applicable if r.passed)
    score = 0.0 if fatal else round(100.0 * earned / total, 2)
    passed = not fatal and score >= pass_score
    return CallScore(score, passed, fatal, len(applicable), pass_score, True, None, share, min_judged_share)
