"""The DuckDB file: the tables (schema.sql) and the pipeline's one writer to them.

- connection: what makes a file unusable, lock conflicts, the lockdown of read-only connections
- database: QaDatabase, one transaction per call; runs, failures, reviews, recording files

The KPI views over these tables are the next stage's (qa_pipeline.kpis), created by kpis.open_writer.
"""
