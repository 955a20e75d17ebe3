"""Which diarized speaker is the agent: role assignment from what each speaker says.

Diarization only says "SPEAKER_00 and SPEAKER_01 are different people". The checks need to know who the
agent is. On a service line the agent is the one who answers with the greeting and the organisation's
name, asks the caller's surname, says 为您/帮您, promises a reply and thanks the caller for calling
(the standards' 服务用语); the customer talks about 我家/我的 problem and calls the organisation 你们.
Each cue adds to (agent) or takes from (customer) a speaker's score; the speaker with the highest score
is the agent, everyone else a customer.

Confidence grows with the gap between the agent's score and the runner-up's: 1 - exp(-gap / 4), so a
gap of one greeting phrase (3) gives 0.53 and a full service script (10+) gives 0.92+. Below
`min_confidence` the roles are not assigned at all: the call's agent-side checks become not applicable
rather than scored against a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qa_pipeline.text.matching import find_phrase

# (phrase, weight). Found with the checks' phrase matcher (exact, same pinyin, or pinyin-fuzzy for 4+
# characters), so an ASR slip such as 欢迎这电 for 欢迎致电 still counts. Variants of one cue share an
# entry (a cue counts once however it is worded); phrases whose pinyin is close enough for the fuzzy
# matcher to confuse (感谢您的耐心 / 感谢您的来电) are left out. A scorecard's [roles] table replaces them.
AGENT_CUES: tuple[tuple[str, float], ...] = (
    # the script (standards 000-004: greeting, surname, restating, closing)
    ("欢迎致电|欢迎来电", 3.0),
    ("很高兴为您服务", 3.0),
    ("有什么可以帮您|有什么可以帮到您", 3.0),
    ("工号", 2.0),
    ("请问您贵姓|怎么称呼您", 2.0),
    ("请问还有其他", 2.0),
    ("感谢您的来电|感谢致电", 3.0),
    ("我跟您确认", 2.0),
    ("请您稍等", 1.0),
    ("给您回复", 2.0),
    # asking for the caller's details and arranging the service: only the agent does that, even a rude one
    ("几栋几号|几号房", 2.0),
    ("电话多少|联系电话|电话号码", 1.0),
    ("业主还是", 1.0),
    ("给您安排|我安排|维修师傅", 1.0),
    # service phrasing
    ("为您", 1.0),
    ("帮您", 1.0),
    ("给您", 1.0),
    ("我们这边", 1.0),
    ("这边是", 1.0),
)
CUSTOMER_CUES: tuple[tuple[str, float], ...] = (
    ("我想问|我想咨询", 1.0),
    ("我要投诉", 2.0),
    ("我是业主", 1.0),
    ("我家", 1.0),
    ("我的", 0.5),
    ("你们", 1.0),
    ("怎么办", 1.0),
    ("能不能快", 1.0),
    ("我先挂了", 1.0),
)
ORGANISATION_WEIGHT = 2.0  # the agent names the organisation when answering
# Who speaks first after the answer: on an inbound call the agent picks up and speaks first; on an
# outbound call either may (the customer's 喂, or the agent's introduction), so it counts for nothing.
FIRST_SPEAKER_WEIGHT = {"inbound": 2.0, None: 1.0, "outbound": 0.0}


@dataclass(frozen=True)
class RoleSettings:
    """The [roles] table of a scorecard (defaults above)."""

    agent_cues: tuple[tuple[str, float], ...] = AGENT_CUES
    customer_cues: tuple[tuple[str, float], ...] = CUSTOMER_CUES
    min_confidence: float = 0.5
    min_similarity: float = 0.85


@dataclass(frozen=True)
class RoleAssignment:
    roles: dict[str, str]  # diarization label -> 'agent' | 'customer'; empty when not assigned
    confidence: float  # 0..1
    scores: dict[str, float] = field(default_factory=dict)  # the agent score of every label
    reason: str = ""

    @property
    def assigned(self) -> bool:
        return bool(self.roles)


def _occurrences(text: str, cue: str, min_similarity: float, most: int = 2) -> int:
    """How often the cue (variants separated by |) occurs, up to `most`: said three times it is no stronger."""
    counts = []
    for phrase in cue.split("|"):
        found, start = 0, 0
        while found < most:
            match = find_phrase(text, phrase, min_similarity, start)
            if match is None:
                break
            found, start = found + 1, match.end
        counts.append(found)
    return max(counts)


def agent_score(text: str, organisations: Sequence[str] = (), settings: RoleSettings | None = None) -> float:
    """How much `text` sounds like the agent: agent cues add, customer cues subtract."""
    settings = settings or RoleSettings()
    similarity = settings.min_similarity
    score = 0.0
    for phrase, weight in settings.agent_cues:
        score += weight * _occurrences(text, phrase, similarity)
    for phrase, weight in settings.customer_cues:
        score -= weight * _occurrences(text, phrase, similarity)
    if any(name and _occurrences(text, name, similarity, 1) for name in organisations):
        score += ORGANISATION_WEIGHT
    return score


def assign_roles(
    texts: Mapping[str, str],
    first_speaker: str | None = None,
    organisations: Sequence[str] = (),
    settings: RoleSettings | None = None,
    direction: str | None = None,
) -> RoleAssignment:
    """texts: everything each diarization label said, in time order; direction from metadata, if known."""
    settings = settings or RoleSettings()
    min_confidence = settings.min_confidence
    if not texts:
        return RoleAssignment({}, 0.0, {}, "no speech")
    first_weight = FIRST_SPEAKER_WEIGHT.get(direction, 1.0)
    scores = {
        label: round(agent_score(text, organisations, settings) + (first_weight if label == first_speaker else 0.0), 2)
        for label, text in texts.items()
    }
    ranked = sorted(scores, key=lambda label: scores[label], reverse=True)
    agent = ranked[0]
    if len(ranked) == 1:
        return RoleAssignment({}, 0.0, scores, "only one speaker found: the parties could not be told apart")
    gap = scores[agent] - scores[ranked[1]]
    confidence = round(1.0 - math.exp(-max(gap, 0.0) / 4.0), 3)
    if confidence < min_confidence:
        return RoleAssignment(
            {},
            confidence,
            scores,
            f"roles unclear: agent-phrasing scores {scores} are too close (confidence {confidence} < {min_confidence})",
        )
    roles = {label: ("agent" if label == agent else "customer") for label in texts}
    return RoleAssignment(roles, confidence, scores, f"{agent} is the agent (agent-phrasing scores {scores})")
