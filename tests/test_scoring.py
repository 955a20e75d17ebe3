"""score_call: weighted share of passed applicable checks, fatal failures, the pass threshold."""

from __future__ import annotations

import pytest

from qa_pipeline.checks.base import CheckResult
from qa_pipeline.scoring import Attribution, CallScore, score_call


def passed(check_id: str, weight: float, *, fatal: bool = False, score: float | None = 1.0) -> CheckResult:
    return CheckResult(check_id=check_id, applicable=True, passed=True, score=score, weight=weight, fatal=fatal)


def failed(check_id: str, weight: float, *, fatal: bool = False, score: float | None = 0.0) -> CheckResult:
    return CheckResult(check_id=check_id, applicable=True, passed=False, score=score, weight=weight, fatal=fatal)


def not_applicable(check_id: str, weight: float, *, fatal: bool = False) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        applicable=False,
        passed=None,
        score=None,
        weight=weight,
        fatal=fatal,
        detail={"reason": "call type 'repair' not in ['complaint']"},
    )


def test_weighted_share() -> None:
    results = [passed("greeting", 10), failed("closing_thanks", 10), passed("forbidden_phrase", 20)]
    assert score_call(results, pass_score=80) == CallScore(75.0, False, (), 3, 80)


def test_weighted_share_other_weights() -> None:
    results = [failed("greeting", 10), passed("closing_thanks", 10), passed("forbidden_phrase", 20)]
    assert score_call(results, pass_score=70).qa_score == 75.0
    results = [passed("greeting", 1), failed("closing_thanks", 2)]
    assert score_call(results, pass_score=0).qa_score == 33.33  # rounded to 2 decimals
    results = [passed("greeting", 2), failed("closing_thanks", 1)]
    assert score_call(results, pass_score=0).qa_score == 66.67


def test_all_pass_and_all_fail() -> None:
    assert score_call([passed("a", 10), passed("b", 20)], pass_score=80) == CallScore(100.0, True, (), 2, 80)
    assert score_call([failed("a", 10), failed("b", 20)], pass_score=0) == CallScore(0.0, True, (), 2, 0)
    assert score_call([failed("a", 10), failed("b", 20)], pass_score=0.01) == CallScore(0.0, False, (), 2, 0.01)


def test_partial_check_score_does_not_count() -> None:
    """A failed check earns nothing even when its own score is partial (e.g. greeting 2 of 3 elements)."""
    results = [failed("greeting", 10, score=0.667), passed("closing_thanks", 10)]
    assert score_call(results, pass_score=50).qa_score == 50.0


def test_not_applicable_checks_are_ignored() -> None:
    results = [
        passed("greeting", 10),
        failed("closing_thanks", 10),
        not_applicable("complaint_apology", 30),
        not_applicable("forbidden_phrase", 20, fatal=True),
    ]
    assert score_call(results, pass_score=50) == CallScore(50.0, True, (), 2, 50)


def test_fatal_failure_scores_zero_and_fails() -> None:
    results = [passed("greeting", 10), passed("closing_thanks", 10), failed("forbidden_phrase", 20, fatal=True)]
    assert score_call(results, pass_score=0) == CallScore(0.0, False, ("forbidden_phrase",), 3, 0)


def test_every_fatal_failure_is_listed_in_order() -> None:
    results = [failed("a", 1, fatal=True), passed("b", 1, fatal=True), failed("c", 1, fatal=True)]
    assert score_call(results, pass_score=0).fatal_failures == ("a", "c")


def test_passed_fatal_check_is_an_ordinary_weight() -> None:
    results = [failed("greeting", 10), passed("closing_thanks", 10), passed("forbidden_phrase", 20, fatal=True)]
    assert score_call(results, pass_score=75) == CallScore(75.0, True, (), 3, 75)


def test_not_applicable_fatal_check_does_not_fail_the_call() -> None:
    results = [passed("greeting", 10), not_applicable("forbidden_phrase", 20, fatal=True)]
    assert score_call(results, pass_score=80) == CallScore(100.0, True, (), 1, 80)


def test_fatal_failure_with_zero_weight_still_fails() -> None:
    results = [passed("greeting", 10), failed("forbidden_phrase", 0, fatal=True)]
    assert score_call(results, pass_score=0) == CallScore(0.0, False, ("forbidden_phrase",), 2, 0)


@pytest.mark.parametrize(
    ("pass_score", "qa_passed"),
    [(74.99, True), (75.0, True), (75, True), (75.01, False), (0, True), (100, False)],
)
def test_pass_score_boundary(pass_score: float, qa_passed: bool) -> None:
    results = [passed("greeting", 10), failed("closing_thanks", 10), passed("forbidden_phrase", 20)]
    score = score_call(results, pass_score)
    assert score.qa_score == 75.0
    assert score.qa_passed is qa_passed


def test_rounded_score_equal_to_pass_score_passes() -> None:
    # 2/3 = 66.666…, stored as 66.67; a pass_score of 66.67 passes.
    results = [passed("a", 2), failed("b", 1)]
    assert score_call(results, pass_score=66.67) == CallScore(66.67, True, (), 2, 66.67)


def test_perfect_score_passes_pass_score_100() -> None:
    assert score_call([passed("a", 3), passed("b", 7)], pass_score=100).qa_passed is True


@pytest.mark.parametrize(
    "results",
    [
        pytest.param([], id="no-results"),
        pytest.param(
            [not_applicable("greeting", 10), not_applicable("forbidden_phrase", 20, fatal=True)], id="none-applicable"
        ),
    ],
)
def test_no_applicable_check_gives_no_verdict(results: list[CheckResult]) -> None:
    assert score_call(results, pass_score=80) == CallScore(None, None, (), 0, 80, False, "no_checks")


def test_only_zero_weights_gives_no_verdict() -> None:
    assert score_call([passed("greeting", 0), failed("closing_thanks", 0)], pass_score=80) == CallScore(
        None, None, (), 2, 80, False, "no_checks"
    )


def test_zero_weight_check_does_not_move_the_score() -> None:
    results = [passed("greeting", 10), failed("closing_thanks", 0)]
    assert score_call(results, pass_score=100) == CallScore(100.0, True, (), 2, 100)


def test_accepts_a_tuple() -> None:
    assert score_call((passed("a", 1), failed("b", 3)), pass_score=25) == CallScore(25.0, True, (), 2, 25)


# -- calls the machine cannot judge (issue 19) ---------------------------------------------------------------
def test_a_call_without_speakers_is_not_judged_however_its_checks_went() -> None:
    results = [passed("dead_air", 5), passed("answer_within_rings", 5), not_applicable("greeting", 10)]
    score = score_call(results, pass_score=80, attribution=Attribution(speakers_known=False))
    assert score == CallScore(None, None, (), 2, 80, False, "no_speakers")
    assert score.judged_share == 0.5


def test_unclear_roles_are_their_own_reason() -> None:
    score = score_call([passed("dead_air", 5)], 80, Attribution(speakers_known=False, roles_unclear=True))
    assert (score.qa_score, score.qa_passed, score.judged, score.not_judged_reason) == (
        None,
        None,
        False,
        "roles_unclear",
    )


def test_known_speakers_score_as_before() -> None:
    results = [passed("a", 10), failed("b", 10), not_applicable("c", 20)]
    assert score_call(results, 50, Attribution()) == score_call(results, 50) == CallScore(50.0, True, (), 2, 50)


@pytest.mark.parametrize(("share", "judged"), [(0.25, True), (0.2501, False), (0.0, True), (1.0, False)])
def test_min_judged_share_is_a_share_of_the_weight_of_all_the_calls_checks(share: float, judged: bool) -> None:
    results = [passed("a", 10), not_applicable("b", 10), not_applicable("c", 20)]  # 10 of 40 judged: 0.25
    score = score_call(results, 80, Attribution(), min_judged_share=share)
    assert score.judged_share == 0.25
    assert score.judged is judged
    assert (score.qa_score, score.not_judged_reason) == ((100.0, None) if judged else (None, "too_few_checks"))
