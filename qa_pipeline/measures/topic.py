"""Time to topic (5秒/10秒内切入正题): from the customer's first words (else the answer) to the start of the
agent's utterance stating the call's purpose."""

from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech
from qa_pipeline.text.matching import find_any


@dataclass(frozen=True)
class Topic:
    customer_first_s: float | None = None
    topic_s: float | None = None  # start of the agent's utterance stating the call's purpose
    topic_text: str | None = None
    time_to_topic_s: float | None = None


def measure_topic(speech: Speech, answer_s: float, settings: TimingSettings, min_similarity: float) -> Topic:
    customer_first = speech.customer[0].start_s if speech.customer else None
    topic = next((s for s in speech.agent if find_any(s.text, settings.topic_phrases, min_similarity)), None)
    if topic is None:
        return Topic(customer_first)
    reference = customer_first if customer_first is not None else answer_s
    return Topic(customer_first, topic.start_s, topic.text, round(max(0.0, topic.start_s - reference), 3))
