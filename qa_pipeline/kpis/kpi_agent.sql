-- kpi_agent: the KPIs of kpi_by.sql per agent (calls.agent_id from metadata; NULL = no agent id).
CREATE OR REPLACE VIEW kpi_agent AS
SELECT dimension_value AS agent_id, * EXCLUDE (dimension_value)
FROM kpi_by(agent_id)
ORDER BY agent_id NULLS LAST;
