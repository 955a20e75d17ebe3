-- organisations_named: the organisation names agents said in their greeting on calls judged without
-- [center].organisations (a center's first night: checks/greeting.py detail.organisation_named), one row per
-- run and name, most frequent first. What an operator confirms by copying them into the scorecard.
--   calls       = calls of the run whose greeting named this organisation
--   first_call  = one of them (the smallest call_id), to listen to
CREATE OR REPLACE VIEW organisations_named AS
SELECT
    c.run_id,
    json_extract_string(r.detail, '$.organisation_named') AS name,
    count(*) AS calls,
    min(r.call_id) AS first_call
FROM check_results AS r
JOIN calls AS c USING (call_id)
WHERE r.check_id = 'greeting' AND json_extract_string(r.detail, '$.organisation_named') IS NOT NULL
GROUP BY ALL
ORDER BY c.run_id, calls DESC, name;
