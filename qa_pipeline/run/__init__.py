"""Running the stages over calls.

- call: the one per-call pipeline (decode → … → redact) and each stage's function; CallSettings
- plan: which call each recording is, and which calls a run must score (incremental runs)
- flow: the `qa-batch` Prefect flow, each stage a task; summary and recorder: a run's account
- transcript_file: scoring transcripts made elsewhere (`qa-pipeline score`) through the same pipeline
- workers: calls at once, worker processes, Dask; deploy: the nightly Prefect deployment
"""
