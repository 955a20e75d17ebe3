"""Stage 3: checks, a registry of rules each citing the service standard it enforces.

Importing this package registers every check. Run them with `run_checks(call, scorecard)`.
"""

from __future__ import annotations

# Importing a check module registers its check; the registry's order is the display order, so the
# modules are imported in the catalogue's order (docs/checks.md), not alphabetically.
# isort: off
from qa_pipeline.checks import greeting  # noqa: F401
from qa_pipeline.checks import ask_surname  # noqa: F401
from qa_pipeline.checks import ask_identity_detail  # noqa: F401
from qa_pipeline.checks import restate_confirm  # noqa: F401
from qa_pipeline.checks import empathy  # noqa: F401
from qa_pipeline.checks import reply_commitment  # noqa: F401
from qa_pipeline.checks import satisfaction_question  # noqa: F401
from qa_pipeline.checks import closing_more_help  # noqa: F401
from qa_pipeline.checks import closing  # noqa: F401  (closing_thanks)
from qa_pipeline.checks import forbidden  # noqa: F401  (forbidden_phrase)
from qa_pipeline.checks import casual_promise  # noqa: F401
from qa_pipeline.checks import off_topic_privacy  # noqa: F401
from qa_pipeline.checks import required_info  # noqa: F401
from qa_pipeline.checks import routing  # noqa: F401
from qa_pipeline.checks import answer_within_rings  # noqa: F401
from qa_pipeline.checks import dead_air  # noqa: F401
from qa_pipeline.checks import talk_time_limit  # noqa: F401
from qa_pipeline.checks import interrupt_customer  # noqa: F401
from qa_pipeline.checks import speech_rate  # noqa: F401
from qa_pipeline.checks import calm_tone  # noqa: F401
from qa_pipeline.checks import abrupt_hangup  # noqa: F401
from qa_pipeline.checks import time_to_topic  # noqa: F401

# isort: on
from qa_pipeline.checks.base import REGISTRY, CallContext, Check, CheckResult, CheckSettings, register
from qa_pipeline.checks.scorecard import Scorecard, ScorecardError, load_scorecard

__all__ = [
    "REGISTRY",
    "CallContext",
    "Check",
    "CheckResult",
    "CheckSettings",
    "Scorecard",
    "ScorecardError",
    "load_scorecard",
    "register",
    "run_checks",
]


def run_checks(call: CallContext, scorecard: Scorecard) -> list[CheckResult]:
    """Every enabled check of the scorecard on one call, in registry order."""
    return [check.run(call) for check in scorecard.enabled_checks()]
