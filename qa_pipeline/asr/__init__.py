"""Speech and speaker turns: who said what and when (after audio/, before measures/).

- models: resolve and assemble the ASR model (the embedded whisper base or a center's own)
- vad: speech regions per channel (Silero VAD shipped inside faster-whisper)
- transcribe: faster-whisper over the speech regions, words with timestamps, simplified Chinese
- diarize: who spoke when on mono recordings (embedded CAM++ backend, or a center's pyannote pipeline)
- campplus: the CAM++ speaker-embedding model (a torch module)
- roles: which diarized voice is the agent, from what each says
- speakers: speaker per channel for stereo; words to diarized turns and roles for mono
- transcript: the typed result handed to the checks
"""
