-- kpi_by(dimension, keys, date_from, date_to): the KPI formulas, once, grouped by any expression over
-- call_facts. Every kpi_* view is this macro over one dimension (seed 000 KPIs: 1 satisfaction, 2 volume
-- and handle time, 3 use of the standard phrases). Calls are those with date_from <= call_date <= date_to
-- (a NULL bound is open; with either bound set, calls without a date are left out). `keys` lists values
-- of the dimension that get a row even with no calls (days of the period, agents of the center): their
-- counts are 0 and their averages and rates NULL.
--   calls                  = count(*)
--   answered_calls         = calls with answered (call_facts)
--   aht_s                  = avg(handle_s) = avg(talk_s + hold_s + acw_s) over answered calls (seconds)
--   aht_basis              = 'talk+hold+acw' when every answered call has after-call work in metadata,
--                            'talk+hold' when none has, 'mixed' otherwise (aht_acw_calls says how many)
--   avg_talk_s             = avg(talk_s) over answered calls                                  (seconds)
--   avg_ring_s             = avg(ring_s) over calls whose rings were measured or given        (seconds)
--   answer_within_rings_rate = answer_within_rings passed / applicable                     (003 三声内接听)
--   avg_qa_score           = avg(qa_score) over calls with a verdict                           (0-100)
--   qa_pass_rate           = calls with qa_passed / calls with a verdict
--   calls_not_judged       = calls the machine gave no verdict (call_facts.judged false: no speaker
--                            attribution, roles unclear, too few checks could judge): counted apart, never
--                            in avg_qa_score or qa_pass_rate (issue 19)
--   script_compliance_rate = sum(script_passed) / sum(script_applicable)        (share of mandated phrases said)
--   check_pass_rates       = map check_id -> passed / applicable, checks applicable at least once
--   csat                   = avg(satisfaction): survey score when metadata has one, else the customer's
--                            answer to the satisfaction question (1-5); csat_survey_calls and
--                            csat_inferred_calls count each source
--   fatal_failures         = calls where a fatal check failed
--   overrides              = check verdicts a QA lead changed (reviews)
-- Every verdict is the one in force (check_verdicts): a QA lead's latest override, else the machine's.
CREATE OR REPLACE MACRO kpi_by(dimension, keys, date_from, date_to) AS TABLE
WITH facts AS (
    SELECT dimension AS dimension_value, *
    FROM call_facts
    WHERE (CAST(date_from AS DATE) IS NULL OR call_date >= CAST(date_from AS DATE))
      AND (CAST(date_to AS DATE) IS NULL OR call_date <= CAST(date_to AS DATE))
),
per_check AS (
    SELECT
        f.dimension_value,
        v.check_id,
        count(*) FILTER (WHERE v.applicable) AS applicable,
        count(*) FILTER (WHERE v.applicable AND v.passed) AS passed
    FROM facts AS f
    JOIN check_verdicts AS v USING (call_id)
    GROUP BY ALL
),
check_rates AS (
    SELECT
        dimension_value,
        map_from_entries(  -- unordered: sorting 20-odd keys per group costs more than it is worth
            list({'key': check_id, 'value': round(passed / applicable, 3)}) FILTER (WHERE applicable > 0)
        ) AS check_pass_rates,
        sum(applicable) FILTER (WHERE check_id = 'answer_within_rings') AS rings_applicable,
        sum(passed) FILTER (WHERE check_id = 'answer_within_rings') AS rings_passed
    FROM per_check
    GROUP BY dimension_value
),
totals AS (
    SELECT
        dimension_value,
        count(*) AS calls,
        count(*) FILTER (WHERE answered) AS answered_calls,
        round(avg(handle_s) FILTER (WHERE answered), 1) AS aht_s,
        CASE
            WHEN count(*) FILTER (WHERE answered) = 0 THEN NULL
            WHEN count(*) FILTER (WHERE answered AND handle_has_acw) = count(*) FILTER (WHERE answered)
                THEN 'talk+hold+acw'
            WHEN count(*) FILTER (WHERE answered AND handle_has_acw) = 0 THEN 'talk+hold'
            ELSE 'mixed'
        END AS aht_basis,
        count(*) FILTER (WHERE answered AND handle_has_acw) AS aht_acw_calls,
        round(avg(talk_s) FILTER (WHERE answered), 1) AS avg_talk_s,
        round(avg(ring_s), 1) AS avg_ring_s,
        round(avg(qa_score), 1) AS avg_qa_score,
        round(count(*) FILTER (WHERE qa_passed) / nullif(count(qa_passed), 0), 3) AS qa_pass_rate,
        count(*) FILTER (WHERE NOT judged) AS calls_not_judged,
        round(sum(script_passed) / nullif(sum(script_applicable), 0), 3) AS script_compliance_rate,
        round(avg(satisfaction), 2) AS csat,
        count(*) FILTER (WHERE satisfaction IS NOT NULL AND satisfaction_source = 'survey') AS csat_survey_calls,
        count(*) FILTER (WHERE satisfaction IS NOT NULL AND satisfaction_source = 'inferred') AS csat_inferred_calls,
        CAST(sum(fatal_failed) AS BIGINT) AS fatal_failures,
        CAST(sum(overrides) AS BIGINT) AS overrides
    FROM facts
    GROUP BY dimension_value
),
spine AS (
    SELECT unnest(keys) AS dimension_value
    UNION
    SELECT dimension_value FROM totals
)
SELECT
    s.dimension_value,
    coalesce(t.calls, 0) AS calls,
    coalesce(t.answered_calls, 0) AS answered_calls,
    t.aht_s,
    t.aht_basis,
    coalesce(t.aht_acw_calls, 0) AS aht_acw_calls,
    t.avg_talk_s,
    t.avg_ring_s,
    round(r.rings_passed / nullif(r.rings_applicable, 0), 3) AS answer_within_rings_rate,
    t.avg_qa_score,
    t.qa_pass_rate,
    coalesce(t.calls_not_judged, 0) AS calls_not_judged,
    t.script_compliance_rate,
    t.csat,
    coalesce(t.csat_survey_calls, 0) AS csat_survey_calls,
    coalesce(t.csat_inferred_calls, 0) AS csat_inferred_calls,
    coalesce(t.fatal_failures, 0) AS fatal_failures,
    coalesce(t.overrides, 0) AS overrides,
    r.check_pass_rates
FROM spine AS s
LEFT JOIN totals AS t ON t.dimension_value IS NOT DISTINCT FROM s.dimension_value
LEFT JOIN check_rates AS r ON r.dimension_value IS NOT DISTINCT FROM s.dimension_value;
