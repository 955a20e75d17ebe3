"""Stage: the nightly QA report (render.write_report), one self-contained HTML page; docs/report.md."""

from qa_pipeline.report.period import ReportError
from qa_pipeline.report.render import write_report

__all__ = ["ReportError", "write_report"]
