-- kpi_daily: the KPIs of kpi_by.sql per call date (date of calls.started_at). Every day from the first
-- call to the last gets a row, 0 calls included; calls without a start time form the NULL row.
-- kpi_daily_between(date_from, date_to) is the same over a period: every day of it, none outside.
CREATE OR REPLACE MACRO kpi_daily_between(date_from, date_to) AS TABLE
SELECT dimension_value AS call_date, * EXCLUDE (dimension_value)
FROM kpi_by(
    call_date,
    (SELECT list(day) FROM period_days(date_from, date_to)),
    date_from,
    date_to
)
ORDER BY call_date NULLS LAST;

CREATE OR REPLACE VIEW kpi_daily AS SELECT * FROM kpi_daily_between(NULL, NULL);
