"""The house's rule, read from the code: a stage imports only from itself and the stages before it.

Stages in the order a call travels (README "Layout"). A module's stage is its folder under qa_pipeline/
(or its own name for the top-level modules). Every import of qa_pipeline, wherever it is written (at the
top, inside a function, under TYPE_CHECKING), counts: an import inside a function does not dodge a
circle here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qa_pipeline"

# The flow: text helpers (phrase matching, finding personal data) under everything, then
# recordings -> audio -> speech and speaker turns -> measures -> checks -> score -> the scored call's record
# -> privacy -> DuckDB -> KPIs -> report; the scorecard (config) gathers every stage's settings, the run
# drives the stages, evaluation and the command line sit on top.
STAGES = (
    "text",
    "intake",
    "audio",
    "asr",
    "measures",
    "checks",
    "scoring",
    "model",
    "privacy",
    "store",
    "kpis",
    "report",
    "serve",
    "config",
    "run",
    "evaluation",
    "cli",
)
# The package's face (qa_pipeline.open_read_only, `python -m qa_pipeline`) may import any stage, and no
# stage may import it.
FACE = ("__init__", "__main__")
MAX_LINES = 600


def _module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, imported qa_pipeline module or package) for every import in the file."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from qa_pipeline.checks import greeting` imports a module too
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "qa_pipeline" or name.startswith("qa_pipeline.")]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _existing(name: str) -> str | None:
    """The module or package `name` names, if it is one (a `from x import Name` names no module)."""
    path = PACKAGE.parent / name.replace(".", "/")
    if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
        return name
    return None


def test_every_folder_is_a_stage() -> None:
    top = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").is_file()
    }
    assert top - set(STAGES) - set(FACE) == set(), (
        "a module or folder of qa_pipeline/ that is in no stage: add it to STAGES"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_run_one_way(path: Path) -> None:
    module = _module_name(path)
    stage = _stage(module)
    if stage in FACE:
        return
    rank = STAGES.index(stage)
    wrong = []
    for line, target in _imports(path):
        target_module = _existing(target)
        if target_module is None:
            continue
        target_stage = _stage(target_module)
        if target_stage in FACE:
            wrong.append(f"{path.name}:{line} imports the package's face {target_module} (import the stage itself)")
        elif STAGES.index(target_stage) > rank:
            wrong.append(f"{module} ({stage}) imports {target_module} ({target_stage}), a later stage: line {line}")
    assert not wrong, "\n".join(wrong)


def test_no_import_circle() -> None:
    """Module-level circles inside a stage too (a stage may import itself, not in a circle)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        module = _module_name(path)
        graph[module] = {m for _, t in _imports(path) if (m := _existing(t)) and m != module}
    # A package's __init__ importing its own modules is how a package exposes them, not a circle with them.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines (at most {MAX_LINES}): split it"


def test_the_reader_finds_hidden_and_relative_imports(tmp_path: Path) -> None:
    """An import inside a function (the old way to dodge a circle) and a relative one are both seen."""
    source = tmp_path / "qa_pipeline" / "checks" / "probe.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from qa_pipeline.run.flow import qa_batch\n\nfrom ..store import database\n")
    found = _imports(source, tmp_path)
    assert (2, "qa_pipeline.run.flow") in found
    assert (4, "qa_pipeline.store.database") in found
