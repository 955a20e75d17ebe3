"""Prefect entrypoint of the `qa-batch` flow: `flows/qa_batch.py:qa_batch`.

The flow itself lives in the package (qa_pipeline/run/flow.py) so that `qa-pipeline run` and a Prefect
deployment run exactly the same code; deployment definitions (prefect.yaml) point at this file.
"""

from qa_pipeline.run.flow import qa_batch

__all__ = ["qa_batch"]
