"""How meaning-level matching separates what a check looks for from what it must not take for it, on our
own calibration sentences (tests/data/meaning_calibration.toml), for a grid of the two [matching] settings.

    python -m benchmarks.meaning_calibration [--check closing_more_help]

Per check with exemplars in the default scorecard, and per (min_meaning_similarity, min_meaning_margin):
the share of `means` sentences found (recall) and of `does_not_mean` sentences left alone (specificity).
For restate_confirm, which compares the agent's words with the customer's, per cosine threshold
(`min_restated_similarity`): the share of restating pairs found and of other pairs left alone.
This is how the defaults were chosen; the evaluation data (../shared/data) plays no part in it.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.text.meaning import Exemplars, MeaningSettings, encoder, exemplar_set, find_meaning

CALIBRATION = Path(__file__).resolve().parent.parent / "tests" / "data" / "meaning_calibration.toml"
SIMILARITIES = (0.86, 0.88, 0.90, 0.92)
MARGINS = (0.0, 0.01, 0.02, 0.03)
PAIR_SIMILARITIES = (0.88, 0.89, 0.90, 0.91, 0.92)


def exemplars_of(section: dict[str, Any]) -> Exemplars:
    """The default scorecard's exemplars and counter-exemplars that a calibration section names."""
    check = load_scorecard(None).checks[section["check"]]
    return exemplar_set(
        tuple(getattr(check, section.get("exemplars", "exemplars"))),
        tuple(getattr(check, section.get("counter_exemplars", "counter_exemplars"))),
    )


def found(text: str, exemplars: Exemplars, settings: MeaningSettings, question: bool) -> bool:
    """Whether meaning-level matching finds the exemplars in `text` (and, for a question, asks)."""
    return find_meaning(text, exemplars, settings, question) is not None


def rates(section: dict[str, Any], settings: MeaningSettings) -> tuple[float, float]:
    """(recall on `means`, specificity on `does_not_mean`) of one calibration section."""
    question = bool(section.get("question", False))
    exemplars = exemplars_of(section)
    means = [found(t, exemplars, settings, question) for t in section["means"]]
    not_means = [not found(t, exemplars, settings, question) for t in section["does_not_mean"]]
    return sum(means) / len(means), sum(not_means) / len(not_means)


def pair_rates(section: dict[str, Any], similarity: float) -> tuple[float, float]:
    """(recall, specificity) of 'the agent's words restate the customer's' at cosine >= `similarity`."""
    vectors = [encoder().encode([customer, agent]) for customer, agent, _ in section["pairs"]]
    said = [float(v[0] @ v[1]) >= similarity for v in vectors]
    restates = [bool(label) for _, _, label in section["pairs"]]
    found = [s for s, r in zip(said, restates, strict=True) if r]
    kept_out = [not s for s, r in zip(said, restates, strict=True) if not r]
    return sum(found) / len(found), sum(kept_out) / len(kept_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", help="one check id (default: every check in the calibration file)")
    args = parser.parse_args()
    data = tomllib.loads(CALIBRATION.read_text(encoding="utf-8"))
    default = load_scorecard(None).meaning
    for name, sentences in data.items():
        if args.check and sentences["check"] != args.check:
            continue
        if "pairs" in sentences:
            chosen = load_scorecard(None).checks[sentences["check"]].min_restated_similarity  # type: ignore[attr-defined]
            print(f"{name}: {len(sentences['pairs'])} pairs (customer's words, agent's words, restates?)")
            print("  similarity  recall  specificity")
            for similarity in PAIR_SIMILARITIES:
                recall, specificity = pair_rates(sentences, similarity)
                mark = "  <- default" if similarity == chosen else ""
                print(f"  {similarity:10.2f}  {recall:6.2f}  {specificity:11.2f}{mark}")
            continue
        print(f"{name}: {len(sentences['means'])} means, {len(sentences['does_not_mean'])} does not mean")
        margin_used = sentences.get("margin", default.min_margin)
        print("  similarity  margin  recall  specificity")
        for similarity in SIMILARITIES:
            for margin in MARGINS:
                recall, specificity = rates(sentences, MeaningSettings(True, similarity, margin))
                mark = "  <- default" if (similarity, margin) == (default.min_similarity, margin_used) else ""
                print(f"  {similarity:10.2f}  {margin:6.2f}  {recall:6.2f}  {specificity:11.2f}{mark}")


if __name__ == "__main__":
    main()
