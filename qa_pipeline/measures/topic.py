"""Time to topic (5秒/10秒内切入正题): from the customer's first words (else the answer) to the moment the agent
starts stating the call's purpose: the first word of the clause holding a topic phrase (给您做个回访 in
您好，我是…客服，给您做个回访), by the ASR's word timestamps. A greeting and the purpose often fall into one
ASR segment; the segment's start would read the greeting as the purpose."""

from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech
from qa_pipeline.text.matching import clause_bounds, find_any


@dataclass(frozen=True)
class Topic:
    customer_first_s: float | None = None
    topic_s: float | None = None  # the first word of the clause stating the call's purpose
    topic_text: str | None = None
    time_to_topic_s: float | None = None


def measure_topic(speech: Speech, answer_s: float, settings: TimingSettings, min_similarity: float) -> Topic:
    customer_first = speech.customer[0].start_s if speech.customer else None
    for segment in speech.agent:
        found = find_any(segment.text, settings.topic_phrases, min_similarity)
        if found is None:
            continue
        # the clause's first word (segment.span_times: the segment's start when there are no word timings)
        topic_s = segment.span_times(*clause_bounds(segment.text, found.start, found.end))[0]
        reference = customer_first if customer_first is not None else answer_s
        return Topic(customer_first, round(topic_s, 3), segment.text, round(max(0.0, topic_s - reference), 3))
    return Topic(customer_first)
