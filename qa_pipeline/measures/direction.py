"""The call's direction: the switch's word, else the side that heard the ringing, else who spoke first."""

from __future__ import annotations

from collections.abc import Sequence

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.intake.metadata import CallMetadata


def call_direction(
    metadata: CallMetadata,
    ringback_channel: str | None,
    agent_segments: Sequence[Segment],
    customer_segments: Sequence[Segment],
) -> tuple[str | None, str | None]:
    """(direction, direction_source): 'inbound' | 'outbound', and 'metadata' | 'ringback' | 'first_speaker'.

    The ringing is heard toward the caller: on the agent's channel an inbound call, on the customer's an
    outbound one."""
    direction, direction_source = metadata.direction, "metadata" if metadata.direction else None
    if direction is None and ringback_channel in ("agent", "customer"):
        direction, direction_source = ("inbound" if ringback_channel == "agent" else "outbound"), "ringback"
    if direction is None and agent_segments and customer_segments:
        agent_first = agent_segments[0].start_s <= customer_segments[0].start_s
        direction, direction_source = ("inbound" if agent_first else "outbound"), "first_speaker"
    return direction, direction_source
