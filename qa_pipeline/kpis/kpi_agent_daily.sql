-- kpi_agent_daily: the KPIs of kpi_by.sql per agent and call date: every agent of the center (as in
-- kpi_agent) on every day of the period (as in kpi_daily), 0 calls included.
-- kpi_agent_daily_between(date_from, date_to) is the same over a period.
CREATE OR REPLACE MACRO kpi_agent_daily_between(date_from, date_to) AS TABLE
SELECT dimension_value.agent_id AS agent_id, dimension_value.call_date AS call_date, * EXCLUDE (dimension_value)
FROM kpi_by(
    {'agent_id': agent_id, 'call_date': call_date},
    (
        SELECT list({'agent_id': a.agent_id, 'call_date': d.day})
        FROM (SELECT agent_id FROM agents UNION SELECT agent_id FROM calls WHERE agent_id IS NOT NULL) AS a
        CROSS JOIN period_days(date_from, date_to) AS d
    ),
    date_from,
    date_to
)
ORDER BY agent_id NULLS LAST, call_date NULLS LAST;

CREATE OR REPLACE VIEW kpi_agent_daily AS SELECT * FROM kpi_agent_daily_between(NULL, NULL);
