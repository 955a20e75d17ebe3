-- kpi_agent: the KPIs of kpi_by.sql per agent (calls.agent_id from metadata; NULL = no agent id). Every
-- agent of the center (the agents table, and every agent_id in calls) gets a row, 0 calls included.
-- kpi_agent_between(date_from, date_to) is the same over a period.
CREATE OR REPLACE MACRO kpi_agent_between(date_from, date_to) AS TABLE
SELECT dimension_value AS agent_id, * EXCLUDE (dimension_value)
FROM kpi_by(
    agent_id,
    (SELECT list(agent_id) FROM (SELECT agent_id FROM agents UNION SELECT agent_id FROM calls WHERE agent_id IS NOT NULL)),
    date_from,
    date_to
)
ORDER BY agent_id NULLS LAST;

CREATE OR REPLACE VIEW kpi_agent AS SELECT * FROM kpi_agent_between(NULL, NULL);
