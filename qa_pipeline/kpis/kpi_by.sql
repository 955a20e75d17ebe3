-- kpi_by(dimension): the KPI formulas, once, grouped by any column of call_facts.
-- Every kpi_* view is this macro over one dimension (seed 000 KPIs: 1 satisfaction, 2 volume and
-- handle time, 3 use of the standard phrases).
--   calls                  = count(*)
--   aht_s                  = avg(handle_s) = avg(talk_s + hold_s)              (seconds)
--   avg_qa_score           = avg(qa_score) over calls with a machine verdict     (0-100)
--   qa_pass_rate           = calls with qa_passed / calls with a verdict
--   script_compliance_rate = sum(script_passed) / sum(script_applicable)       (share of mandated phrases said)
--   fatal_failures         = calls where a fatal check failed
--   csat                   = avg(satisfaction) over calls that have one
CREATE OR REPLACE MACRO kpi_by(dimension) AS TABLE
SELECT
    dimension AS dimension_value,
    count(*) AS calls,
    round(avg(handle_s), 1) AS aht_s,
    round(avg(qa_score), 1) AS avg_qa_score,
    round(count(*) FILTER (WHERE qa_passed) / nullif(count(qa_passed), 0), 3) AS qa_pass_rate,
    round(sum(script_passed) / nullif(sum(script_applicable), 0), 3) AS script_compliance_rate,
    sum(fatal_failed) AS fatal_failures,
    round(avg(satisfaction), 2) AS csat
FROM call_facts
GROUP BY ALL;
