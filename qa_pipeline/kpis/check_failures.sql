-- check_failures: how often each check failed (verdicts in force, check_verdicts), the report's "Failed
-- checks". One row per check that was applicable at least once.
--   title, category    = from checks (the check id and '' when the scorecard no longer has it)
--   failed_calls       = calls where the check applied and failed
--   applicable_calls   = calls where the check applied
--   fail_rate          = failed_calls / applicable_calls
-- Order: most failed calls first, then highest fail rate, then check_id.
-- check_failures_between(date_from, date_to) is the same over calls dated date_from..date_to (a NULL bound
-- is open; with either bound set, calls without a date are left out).
CREATE OR REPLACE MACRO check_failures_between(date_from, date_to) AS TABLE
SELECT
    v.check_id,
    coalesce(any_value(ch.title), v.check_id) AS title,
    coalesce(any_value(ch.category), '') AS category,
    count(*) FILTER (WHERE v.applicable AND v.passed = false) AS failed_calls,
    count(*) FILTER (WHERE v.applicable) AS applicable_calls,
    round(failed_calls / applicable_calls, 3) AS fail_rate
FROM check_verdicts AS v
JOIN call_facts AS f USING (call_id)
LEFT JOIN checks AS ch USING (check_id)
WHERE (CAST(date_from AS DATE) IS NULL OR f.call_date >= CAST(date_from AS DATE))
  AND (CAST(date_to AS DATE) IS NULL OR f.call_date <= CAST(date_to AS DATE))
GROUP BY v.check_id
HAVING applicable_calls > 0
ORDER BY failed_calls DESC, failed_calls / applicable_calls DESC, v.check_id;

CREATE OR REPLACE VIEW check_failures AS SELECT * FROM check_failures_between(NULL, NULL);
