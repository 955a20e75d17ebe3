"""The recording itself: decoded, screened, described.

- decode: any common format into 16 kHz float32 channels, in bounded memory for long recordings
- channels: which stream is whose on a stereo recording (one party per channel)
- screening: is it a call at all (too short, silent, no words), and its levels (clipping)
- facts: what is stored about the recording with its call (AudioFacts)
"""
