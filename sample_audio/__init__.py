"""The SYNTHETIC sample calls' generator (run `python sample_audio/generate.py`; see README.md)."""
