"""Stage 2: who said what and when.

- models: resolve and assemble the ASR model (the embedded whisper base or a center's own)
- vad: speech regions per channel (Silero VAD shipped inside faster-whisper)
- transcribe: faster-whisper over the speech regions, words with timestamps, simplified Chinese
- speakers: speaker per channel for stereo; 'unknown' for mono until diarization lands
- transcript: the typed result handed to the checks
"""
