-- check_verdicts: every check result with the verdict in force, the QA lead's latest review over the
-- machine's. KPIs and scores read this view, never check_results directly.
--   machine_applicable, machine_passed = check_results.applicable, .passed (what the machine said)
--   human_verdict     = verdict of the latest review of (call_id, check_id): pass | fail | na; NULL = none
--   applicable        = human_verdict IN ('pass', 'fail') when reviewed, else machine_applicable
--   passed            = human_verdict = 'pass' when reviewed (NULL for na), else machine_passed
--   overridden        = reviewed and the human verdict differs from the machine's
CREATE OR REPLACE VIEW check_verdicts AS
WITH latest_review AS (
    SELECT call_id, check_id, verdict, reviewer, reviewed_at, note
    FROM reviews
    QUALIFY row_number() OVER (PARTITION BY call_id, check_id ORDER BY reviewed_at DESC, review_id DESC) = 1
)
SELECT
    r.call_id,
    r.check_id,
    r.weight,
    r.fatal,
    r.applicable AS machine_applicable,
    r.passed AS machine_passed,
    CASE WHEN NOT r.applicable THEN 'na' WHEN r.passed THEN 'pass' ELSE 'fail' END AS machine_verdict,
    l.verdict AS human_verdict,
    CASE WHEN l.verdict IS NULL THEN r.applicable ELSE l.verdict <> 'na' END AS applicable,
    CASE WHEN l.verdict IS NULL THEN r.passed WHEN l.verdict = 'na' THEN NULL ELSE l.verdict = 'pass' END AS passed,
    coalesce(l.verdict <> CASE WHEN NOT r.applicable THEN 'na' WHEN r.passed THEN 'pass' ELSE 'fail' END, false)
        AS overridden,
    l.reviewer,
    l.reviewed_at,
    l.note AS review_note,
    r.evidence_start_s,
    r.evidence_end_s,
    r.evidence_text
FROM check_results AS r
LEFT JOIN latest_review AS l USING (call_id, check_id);
