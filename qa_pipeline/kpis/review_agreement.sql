-- review_agreement: how often the machine and QA leads agree, per check (the calibration figure). Over
-- every (call, check) a QA lead reviewed, the latest review against the machine's current verdict.
--   reviewed_calls   = calls whose verdict on the check was reviewed
--   agreed           = reviews whose verdict equals the machine's;  agreement_rate = agreed / reviewed_calls
--   overrides        = reviewed_calls - agreed (the verdict in force is the QA lead's)
--   machine_false_fail = machine said fail, QA lead said pass;  machine_missed_fail = machine pass, lead fail
--   reviews          = every review of the check, history included
CREATE OR REPLACE VIEW review_agreement AS
WITH history AS (
    SELECT check_id, count(*) AS reviews, max(reviewed_at) AS last_reviewed_at FROM reviews GROUP BY check_id
)
SELECT
    v.check_id,
    count(*) AS reviewed_calls,
    count(*) FILTER (WHERE NOT v.overridden) AS agreed,
    round(count(*) FILTER (WHERE NOT v.overridden) / count(*), 3) AS agreement_rate,
    count(*) FILTER (WHERE v.overridden) AS overrides,
    count(*) FILTER (WHERE v.machine_verdict = 'fail' AND v.human_verdict = 'pass') AS machine_false_fail,
    count(*) FILTER (WHERE v.machine_verdict = 'pass' AND v.human_verdict = 'fail') AS machine_missed_fail,
    any_value(h.reviews) AS reviews,
    any_value(h.last_reviewed_at) AS last_reviewed_at
FROM check_verdicts AS v
JOIN history AS h USING (check_id)
WHERE v.human_verdict IS NOT NULL
GROUP BY v.check_id
ORDER BY agreement_rate, v.check_id;
