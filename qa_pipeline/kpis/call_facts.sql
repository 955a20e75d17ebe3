-- call_facts: one row per call with the per-call quantities every KPI view aggregates.
--   call_date          = date of calls.started_at (NULL when metadata gave no start time)
--   handle_s           = talk_s + coalesce(hold_s, 0)          (after-call work is not added yet)
--   script_applicable  = number of applicable checks of category 'script' (mandated phrases)
--   script_passed      = how many of those passed
--   fatal_failed       = 1 when any fatal check failed on the call
CREATE OR REPLACE VIEW call_facts AS
SELECT
    c.*,
    CAST(c.started_at AS DATE) AS call_date,
    c.talk_s + coalesce(c.hold_s, 0) AS handle_s,
    coalesce(r.script_applicable, 0) AS script_applicable,
    coalesce(r.script_passed, 0) AS script_passed,
    coalesce(r.fatal_failed, 0) AS fatal_failed
FROM calls AS c
LEFT JOIN (
    SELECT
        cr.call_id,
        count(*) FILTER (WHERE ch.category = 'script' AND cr.applicable) AS script_applicable,
        count(*) FILTER (WHERE ch.category = 'script' AND cr.applicable AND cr.passed) AS script_passed,
        max(CASE WHEN cr.fatal AND cr.applicable AND NOT cr.passed THEN 1 ELSE 0 END) AS fatal_failed
    FROM check_results AS cr
    LEFT JOIN checks AS ch USING (check_id)
    GROUP BY cr.call_id
) AS r USING (call_id);
