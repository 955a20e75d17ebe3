-- review_queue: the calls a QA lead should listen to, and why (the report's "Calls to review"). One row
-- per call of call_facts (verdicts in force) with at least one reason; thresholds from review_thresholds.
--   asr_confidence   = avg(segments.confidence) over the call's segments (NULL without segments)
--   fatal            = a fatal check failed (call_facts.fatal_failed = 1)
--   failed_qa        = qa_passed is false (a low score or a fatal failure; NULL counts as not failed)
--   not_judged       = NOT call_facts.judged (no score: not_judged_reason says why)
--   low_diarization  = diarization_confidence < review_thresholds.diarization
--   low_role         = role_confidence < review_thresholds.role
--   roles_unknown    = a mono call (channels = 1, or a diarization of review_thresholds.mono_diarizations)
--                      with no segment attributed to 'agent' or 'customer'
--   low_asr          = asr_confidence < review_thresholds.asr
--   low_confidence   = low_diarization OR low_role OR roles_unknown OR low_asr OR not_judged (machine unsure)
-- A call is in the queue when fatal OR failed_qa OR low_confidence. Order: fatal failures first, then the
-- calls the machine was unsure of, then the other failed calls; lowest score first within each (no score
-- first), then started_at, call_id.
-- review_queue_between(date_from, date_to) is the same over calls dated date_from..date_to (a NULL bound
-- is open; with either bound set, calls without a date are left out).
CREATE OR REPLACE MACRO review_queue_between(date_from, date_to) AS TABLE
WITH per_call AS (
    SELECT call_id, avg(confidence) AS asr_confidence,
           count(*) FILTER (WHERE speaker IN ('agent', 'customer')) AS role_segments
    FROM segments
    GROUP BY call_id
),
flagged AS (
    SELECT
        f.call_id, f.call_date, f.agent_id, f.started_at, f.call_type, f.qa_score, f.machine_qa_score,
        f.qa_passed, f.pass_score, f.audio_path, f.role_note, f.diarization_confidence, f.role_confidence,
        s.asr_confidence,
        f.fatal_failed = 1 AS fatal,
        coalesce(f.qa_passed = false, false) AS failed_qa,
        NOT f.judged AS not_judged,
        f.not_judged_reason,
        coalesce(f.diarization_confidence < t.diarization, false) AS low_diarization,
        coalesce(f.role_confidence < t.role, false) AS low_role,
        (coalesce(f.channels = 1, false) OR list_contains(t.mono_diarizations, f.diarization))
            AND coalesce(s.role_segments, 0) = 0 AS roles_unknown,
        coalesce(s.asr_confidence < t.asr, false) AS low_asr
    FROM call_facts AS f
    CROSS JOIN review_thresholds AS t
    LEFT JOIN per_call AS s USING (call_id)
    WHERE (CAST(date_from AS DATE) IS NULL OR f.call_date >= CAST(date_from AS DATE))
      AND (CAST(date_to AS DATE) IS NULL OR f.call_date <= CAST(date_to AS DATE))
)
SELECT *, low_diarization OR low_role OR roles_unknown OR low_asr OR not_judged AS low_confidence
FROM flagged
WHERE fatal OR failed_qa OR low_diarization OR low_role OR roles_unknown OR low_asr OR not_judged
ORDER BY fatal DESC, low_confidence DESC, qa_score NULLS FIRST, started_at, call_id;

CREATE OR REPLACE VIEW review_queue AS SELECT * FROM review_queue_between(NULL, NULL);
