"""Running the stages over calls.

- call: the one per-call pipeline (decode → … → redact) and each stage's function; CallSettings
- plan: which call each recording is, and which calls a run must score or re-judge (incremental runs)
- rejudge: a call's verdicts made again from the inputs kept when it was scored; backtest: a scorecard
  tried on the stored calls, nothing written
- flow: the `qa-batch` and `qa-backtest` Prefect flows, each stage a task; summary and recorder: a run's account
- transcript_file: scoring transcripts made elsewhere (`qa-pipeline score`) through the same pipeline
- workers: calls at once, worker processes, Dask; deploy: the nightly and on-demand Prefect deployments;
  prefect_server: the temporary Prefect server `qa-pipeline run` starts for itself
"""
