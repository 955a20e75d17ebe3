"""Measuring the pipeline against labels: `qa-pipeline eval` (checks and timings, evaluation.checks),
`eval-diarization` (evaluation.diarization), character error rate (evaluation.asr), and comparing what
two versions stored for the same recordings (evaluation.compare)."""
