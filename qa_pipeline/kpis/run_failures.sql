-- run_failures: what each pipeline run could not process: one row per failures row (recording, stage,
-- error, when), metadata warnings included. open_failures keeps only the recordings still unresolved.
--   resolved = a later run scored the recording (calls has its audio_path with processed_at >= "at");
--              always false for stage 'metadata' (a warning about a CSV row: the call itself was processed)
-- Order: run_id, then "at", audio_path.
CREATE OR REPLACE VIEW run_failures AS
SELECT
    f.run_id,
    f.audio_path,
    f.stage,
    f.error,
    f."at",
    f.stage <> 'metadata'
        AND EXISTS (SELECT 1 FROM calls AS c WHERE c.audio_path = f.audio_path AND c.processed_at >= f."at")
        AS resolved
FROM failures AS f
ORDER BY f.run_id, f."at", f.audio_path;
