"""Checks: a registry of rules each citing the service standard it enforces.

One module per check, named by its id (greeting.py holds `greeting`), each registering its class with
`@register`; importing this package imports every such module, so a new check is its module (numeric
settings declaring their range: `field(metadata=bounds(low, high))`), its fixture file (fixtures/<id>.toml)
and its table in the default scorecard (qa_pipeline/config/default_scorecard.toml), whose order is the
display order; then docs/checks.md's table is regenerated (python -m qa_pipeline.config.catalogue --write
docs/checks.md). Run the enabled ones with `run_checks(call, checks)`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from qa_pipeline.checks.base import REGISTRY, CallContext, Check, CheckResult, CheckSettings, register

# Modules of this package that are not a check.
NOT_CHECKS = frozenset({"base", "call_type", "run"})


def _import_every_check() -> None:
    """Import each check module; each must register exactly the check its file is named after."""
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        if module in NOT_CHECKS:
            continue
        before = set(REGISTRY)
        importlib.import_module(f"{__name__}.{module}")
        added = set(REGISTRY) - before
        if added != {module}:
            raise ImportError(
                f"qa_pipeline/checks/{module}.py must register one check with id {module!r}, got {sorted(added)}"
            )


_import_every_check()

__all__ = ["REGISTRY", "CallContext", "Check", "CheckResult", "CheckSettings", "register", "run_checks"]


def run_checks(call: CallContext, checks: Sequence[Check]) -> list[CheckResult]:
    """Each of `checks` (the enabled ones, in display order) on one call."""
    return [check.run(call) for check in checks]
