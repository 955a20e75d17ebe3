-- kpi_daily: the KPIs of kpi_by.sql per call date (date of calls.started_at; NULL = start unknown).
CREATE OR REPLACE VIEW kpi_daily AS
SELECT dimension_value AS call_date, * EXCLUDE (dimension_value)
FROM kpi_by(call_date)
ORDER BY call_date NULLS LAST;
