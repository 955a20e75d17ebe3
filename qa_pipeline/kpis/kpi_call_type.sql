-- kpi_call_type: the KPIs of kpi_by.sql per call type (metadata, else inferred: calls.call_type). Every
-- call type that occurs in the database gets a row, 0 calls included.
-- kpi_call_type_between(date_from, date_to) is the same over a period.
CREATE OR REPLACE MACRO kpi_call_type_between(date_from, date_to) AS TABLE
SELECT dimension_value AS call_type, * EXCLUDE (dimension_value)
FROM kpi_by(
    call_type,
    (SELECT list(DISTINCT call_type) FROM calls WHERE call_type IS NOT NULL),
    date_from,
    date_to
)
ORDER BY call_type NULLS LAST;

CREATE OR REPLACE VIEW kpi_call_type AS SELECT * FROM kpi_call_type_between(NULL, NULL);
