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
--   machine_judged     = calls.judged: the machine gave the call a verdict (qa_pipeline/scoring.py); rows
--                        written before the column existed: judged when they have a qa_score
--   judged             = machine_judged when nothing was overridden; otherwise re-judged like scoring.py
--                        from the verdicts in force: some applicable weight, and weight applicable / weight
--                        of all the call's checks >= calls.min_judged_share (0 on older rows). A call not
--                        judged for want of speaker attribution (no_speakers, roles_unclear) stays not
--                        judged whatever the reviews: its transcript says nobody knows who spoke; re-score it
--                        with speakers (stereo, diarization) to score it. Its reviewed verdicts still count in
--                        the per-check rates.
--   not_judged_reason  = NULL when judged; else calls.not_judged_reason (no_speakers | roles_unclear |
--                        no_checks | too_few_checks), or for a reviewed call what its verdicts in force give
--   qa_score           = NULL when not judged; machine_qa_score when nothing was overridden; otherwise
--                        recomputed like qa_pipeline/scoring.py: 100 * weight passed / weight applicable,
--                        0 on a fatal failure
--   qa_passed          = NULL when not judged; machine_qa_passed when nothing was overridden; otherwise no
--                        fatal failure and qa_score >= calls.pass_score (NULL for rows scored before
--                        pass_score was stored)
CREATE OR REPLACE VIEW call_facts AS
WITH per_call AS (
    SELECT
        v.call_id,
        count(*) FILTER (WHERE ch.category = 'script' AND v.applicable) AS script_applicable,
        count(*) FILTER (WHERE ch.category = 'script' AND v.applicable AND v.passed) AS script_passed,
        max(CASE WHEN v.fatal AND v.applicable AND NOT v.passed THEN 1 ELSE 0 END) AS fatal_failed,
        count(*) FILTER (WHERE v.overridden) AS overrides,
        sum(v.weight) FILTER (WHERE v.applicable) AS weight_applicable,
        coalesce(sum(v.weight) FILTER (WHERE v.applicable AND v.passed), 0) AS weight_passed,
        sum(v.weight) FILTER (WHERE v.weight > 0) AS weight_all
    FROM check_verdicts AS v
    LEFT JOIN checks AS ch USING (check_id)
    GROUP BY v.call_id
),
verdicts AS (
    SELECT
        c.* EXCLUDE (qa_score, qa_passed, judged, not_judged_reason),
        c.qa_score AS machine_qa_score,
        c.qa_passed AS machine_qa_passed,
        coalesce(c.judged, c.qa_score IS NOT NULL) AS machine_judged,
        c.not_judged_reason AS machine_not_judged_reason,
        coalesce(c.not_judged_reason IN ('no_speakers', 'roles_unclear'), false) AS unattributed,
        coalesce(p.script_applicable, 0) AS script_applicable,
        coalesce(p.script_passed, 0) AS script_passed,
        coalesce(p.fatal_failed, 0) AS fatal_failed,
        coalesce(p.overrides, 0) AS overrides,
        coalesce(p.weight_applicable, 0) AS weight_applicable,
        p.weight_passed,
        p.weight_all
    FROM calls AS c
    LEFT JOIN per_call AS p USING (call_id)
),
judging AS (
    SELECT
        *,
        CASE
            WHEN overrides = 0 THEN machine_judged
            WHEN unattributed OR weight_applicable <= 0 THEN false
            ELSE round(weight_applicable / weight_all, 3) >= coalesce(min_judged_share, 0)
        END AS judged
    FROM verdicts
),
rescored AS (
    SELECT
        * EXCLUDE (machine_not_judged_reason, unattributed, weight_applicable, weight_passed, weight_all),
        CASE
            WHEN judged THEN NULL
            WHEN overrides = 0 THEN coalesce(machine_not_judged_reason, 'no_checks')
            WHEN unattributed THEN machine_not_judged_reason
            WHEN weight_applicable <= 0 THEN 'no_checks'
            ELSE 'too_few_checks'
        END AS not_judged_reason,
        CASE
            WHEN NOT judged THEN NULL
            WHEN overrides = 0 THEN machine_qa_score
            WHEN fatal_failed = 1 THEN 0.0
            ELSE round(100.0 * weight_passed / weight_applicable, 2)
        END AS qa_score
    FROM judging
)
SELECT
    * EXCLUDE (machine_qa_passed),
    machine_qa_passed,
    CASE
        WHEN NOT judged THEN NULL
        WHEN overrides = 0 THEN machine_qa_passed
        ELSE fatal_failed = 0 AND qa_score >= pass_score
    END AS qa_passed,
    CAST(started_at AS DATE) AS call_date,
    answered_at IS NOT NULL OR coalesce(talk_s, 0) > 0 AS answered,
    talk_s + coalesce(hold_s, 0) + coalesce(acw_s, 0) AS handle_s,
    acw_s IS NOT NULL AS handle_has_acw
FROM rescored;
