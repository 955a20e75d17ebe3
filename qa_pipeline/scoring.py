"""Stage 4: one score per call from its check results.

qa_score = 100 * sum(weight of applicable checks that passed) / sum(weight of applicable checks).
Not-applicable checks do not count. A failed fatal check caps the score at 0 and fails the call.
qa_passed = no fatal failure and qa_score >= the scorecard's pass_score. With no applicable check at
all (or only zero weights) both are NULL: the machine has no verdict on that call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa_pipeline.checks.base import CheckResult


@dataclass(frozen=True)
class CallScore:
    qa_score: float | None
    qa_passed: bool | None
    fatal_failures: tuple[str, ...] = ()
    applicable_checks: int = 0
    pass_score: float | None = None  # the scorecard's pass mark it was judged against


def score_call(results: Sequence[CheckResult], pass_score: float) -> CallScore:
    applicable = [r for r in results if r.applicable]
    total = sum(r.weight for r in applicable)
    if not applicable or total <= 0:
        return CallScore(None, None, (), len(applicable), pass_score)
    earned = sum(r.weight for r in applicable if r.passed)
    fatal = tuple(r.check_id for r in applicable if r.fatal and r.passed is False)
    score = 0.0 if fatal else round(100.0 * earned / total, 2)
    return CallScore(score, not fatal and score >= pass_score, fatal, len(applicable), pass_score)
