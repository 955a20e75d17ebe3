"""The center's scorecard: one TOML file layered over default_scorecard.toml, validated before any audio.

It gathers every stage's settings (input, timing, roles, checks, privacy, KPIs), so it sits above them;
each stage is handed only its own part (run.call.CallSettings). catalogue writes the check table of
docs/checks.md from the registry and the default scorecard.
"""
