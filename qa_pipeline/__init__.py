"""qa_pipeline: score every call-center recording against the center's service standards.

Data flows one way, one module per stage:
audio -> speech and speaker turns (asr/) -> transcript -> checks (checks/) -> call score (scoring)
-> DuckDB (storage) -> KPIs (kpis/*.sql).
"""

__version__ = "0.1.0"
