"""Stage 3: checks, a registry of rules each citing the service standard it enforces.

Importing this package registers every check. Run them with `run_checks(call, scorecard)`.
"""

from __future__ import annotations

from qa_pipeline.checks import closing, forbidden, greeting  # noqa: F401  (registration)
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
