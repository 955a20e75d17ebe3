"""Re-judging: a call's verdicts made again from what its checks read when it was scored, not from its audio.

When a run finds a call whose audio, model, metadata, speaker settings and the scorecard's settings up to
the measure stage are unchanged but whose scorecard is not (a phrase, a weight, a threshold, the pass mark:
run.plan.REJUDGE), decoding, diarizing, transcribing and measuring it again would give what they gave
before. The inputs its checks read were sealed when it was scored (privacy.seal, table call_inputs); they
are opened here, in memory, and the call goes through check -> score -> privacy as it did then
(run.call.rejudge_call), so its stored rows are the rows a full re-score would write. A call whose sealed
inputs cannot be opened (the key file was replaced, the code's format changed) is re-scored from its audio,
and the run says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.model import ScoredCall
from qa_pipeline.privacy.seal import JudgingInputs, SealError, unseal
from qa_pipeline.run.call import CallFailure, CallSettings, StageError, TimedStages, failure_message, rejudge_call


@dataclass(frozen=True)
class Unreadable:
    """A call whose kept inputs could not be opened: it is re-scored from its audio instead."""

    job: CallJob
    reason: str


def rejudged_calls(
    jobs: Iterable[CallJob], sealed: dict[str, bytes], settings: CallSettings
) -> Iterator[ScoredCall | CallFailure | Unreadable]:
    """Each job re-judged from its sealed inputs (ready to store); a stage that fails on them fails the call
    as it would on a re-score; inputs that cannot be opened send the call back to be re-scored."""
    if settings.inputs_key is None:
        raise ValueError("re-judging needs the key the inputs were sealed with (CallSettings.inputs_key)")
    for job in jobs:
        blob = sealed.get(job.call_id)
        if blob is None:
            yield Unreadable(job, "no inputs kept")
            continue
        try:
            inputs: JudgingInputs = unseal(blob, settings.inputs_key)
        except SealError as error:
            yield Unreadable(job, f"kept inputs unreadable: {error}")
            continue
        stages = TimedStages()
        try:
            yield rejudge_call(job, inputs, settings, stages)
        except StageError as failure:
            yield CallFailure(job, failure.stage, failure_message(job, failure.error), stages.seconds)
