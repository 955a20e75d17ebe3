-- review_thresholds: below which a confidence makes the machine "unsure" of a call, so that review_queue
-- puts it before a QA lead (docs/report.md). One row; the report shows these figures with its queue.
--   diarization        = 0.3: calls.diarization_confidence below it (docs/schema.md: the flow already warns
--                        that the verdicts need review)
--   role               = 0.5: calls.role_confidence below it (the [roles] min_confidence default: below it
--                        no roles are assigned at all)
--   asr                = 0.6: mean word probability over a call's segments below it. The sample calls'
--                        means lie between 0.79 and 0.99 (single segments go down to about 0.4), so a whole
--                        call averaging below 0.6 means the ASR mostly guessed.
--   mono_diarizations  = calls.diarization values that give a mono call speaker turns (or none): such a
--                        call with no agent/customer segment has unknown roles
CREATE OR REPLACE VIEW review_thresholds AS
SELECT
    CAST(0.3 AS DOUBLE) AS diarization,
    CAST(0.5 AS DOUBLE) AS role,
    CAST(0.6 AS DOUBLE) AS asr,
    ['embedded', 'pyannote', 'none'] AS mono_diarizations;
