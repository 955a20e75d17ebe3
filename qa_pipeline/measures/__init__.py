"""Stage between the transcript and the checks: the call's timings, measured from the audio and the words.

The standards time things the words alone cannot show: answer within three rings (电话铃响三声内接起),
get to the point within 5 s / 10 s on return visits (5秒/10秒内切入正题), speak at a suitable pace and
calm tone (语速适当、语调平和), don't cut the customer off, don't slam the phone (不可摔电话), and the
call-length warning (超时预警). `measure_call` turns a decoded recording (or none, for a transcript
scored from a file), its transcript and its metadata into one `Measures`; the timing checks judge it,
and storage writes its numbers into `calls` and its stretches into `call_events`.

One module per measure, in the order measure_call takes them (call.py):

- rings.py: rings and the answer, from ringback bursts before the first speech, else the metadata;
- direction.py: inbound or outbound, from the metadata, else the ringing side, else who spoke first;
- talk.py: talk, silence and hold, from the speech regions of every channel (speech.py);
- overtalk.py: the agent talking over the customer (separate channels only);
- pace.py: the agent's characters per minute; tone.py: the agent's and the customer's raised voice;
- topic.py: time to the call's purpose; hangup.py: who ended the call, and whether the customer was cut off.

Interruptions, tone, hang-up and time to topic need to know which words are the agent's (stereo channels,
or mono diarization). settings.py holds TimingSettings (the scorecard's [timing] table), record.py the
records; acoustics.py the signal functions the measures use.
"""

from __future__ import annotations

from qa_pipeline.measures.acoustics import Interruption
from qa_pipeline.measures.call import measure_call
from qa_pipeline.measures.record import Hangup, Measures, Overtalk, PaceStretch, Silence
from qa_pipeline.measures.settings import TimingSettings

__all__ = [
    "Hangup",
    "Interruption",
    "Measures",
    "Overtalk",
    "PaceStretch",
    "Silence",
    "TimingSettings",
    "measure_call",
]
