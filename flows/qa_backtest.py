"""Prefect entrypoint of the `qa-backtest` flow: `flows/qa_backtest.py:qa_backtest`.

What a scorecard would change on the stored calls, written beside the database, the database untouched
(qa_pipeline/run/backtest.py). `qa-pipeline deploy` registers it as qa-backtest/on-demand (no schedule):
prefect deployment run 'qa-backtest/on-demand' --param scorecard_path=/path/to/new.toml
"""

from qa_pipeline.run.flow import qa_backtest

__all__ = ["qa_backtest"]
