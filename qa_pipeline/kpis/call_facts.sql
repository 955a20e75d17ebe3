-- call_facts: one row per call with the per-call quantities every KPI view aggregates. Check verdicts
-- come from check_verdicts (a QA lead's override wins); the machine's own score stays in machine_*.
--   call_date          = date of calls.started_at (NULL when metadata gave no start time)
--   answered           = answered_at is known, or anyone spoke (talk_s > 0)
--   handle_s           = talk_s + hold_s + acw_s; hold and after-call work count 0 where unknown
--   handle_has_acw     = acw_s is known (metadata), so handle_s includes after-call work
--   script_applicable  = applicable checks of category 'script' (mandated phrases)
--   script_passed      = how many of those passed
--   fatal_failed       = 1 when any fatal check failed on the call, else 0
--   overrides          = checks whose verdict a QA lead changed
--   qa_score           = machine_qa_score when nothing was overridden; otherwise recomputed like
--                        qa_pipeline/scoring.py: 100 * weight passed / weight applicable, 0 on a fatal failure
--   qa_passed          = machine_qa_passed when nothing was overridden; otherwise no fatal failure and
--                        qa_score >= calls.pass_score (NULL for rows scored before pass_score was stored)
CREATE OR REPLACE VIEW call_facts AS
WITH per_call AS (
    SELECT
        v.call_id,
        count(*) FILTER (WHERE ch.category = 'script' AND v.applicable) AS script_applicable,
        count(*) FILTER (WHERE ch.category = 'script' AND v.applicable AND v.passed) AS script_passed,
        max(CASE WHEN v.fatal AND v.applicable AND NOT v.passed THEN 1 ELSE 0 END) AS fatal_failed,
        count(*) FILTER (WHERE v.overridden) AS overrides,
        sum(v.weight) FILTER (WHERE v.applicable) AS weight_applicable,
        coalesce(sum(v.weight) FILTER (WHERE v.applicable AND v.passed), 0) AS weight_passed
    FROM check_verdicts AS v
    LEFT JOIN checks AS ch USING (check_id)
    GROUP BY v.call_id
),
rescored AS (
    SELECT
        c.* EXCLUDE (qa_score, qa_passed),
        c.qa_score AS machine_qa_score,
        c.qa_passed AS machine_qa_passed,
        coalesce(p.script_applicable, 0) AS script_applicable,
        coalesce(p.script_passed, 0) AS script_passed,
        coalesce(p.fatal_failed, 0) AS fatal_failed,
        coalesce(p.overrides, 0) AS overrides,
        CASE
            WHEN coalesce(p.overrides, 0) = 0 THEN c.qa_score
            WHEN coalesce(p.weight_applicable, 0) <= 0 THEN NULL
            WHEN p.fatal_failed = 1 THEN 0.0
            ELSE round(100.0 * p.weight_passed / p.weight_applicable, 2)
        END AS qa_score
    FROM calls AS c
    LEFT JOIN per_call AS p USING (call_id)
)
SELECT
    * EXCLUDE (machine_qa_passed),
    machine_qa_passed,
    CASE
        WHEN overrides = 0 THEN machine_qa_passed
        WHEN qa_score IS NULL THEN NULL
        ELSE fatal_failed = 0 AND qa_score >= pass_score
    END AS qa_passed,
    CAST(started_at AS DATE) AS call_date,
    answered_at IS NOT NULL OR coalesce(talk_s, 0) > 0 AS answered,
    talk_s + coalesce(hold_s, 0) + coalesce(acw_s, 0) AS handle_s,
    acw_s IS NOT NULL AS handle_has_acw
FROM rescored;
