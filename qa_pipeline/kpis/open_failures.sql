-- open_failures: the recordings that need an operator. One row per recording whose latest attempt
-- failed and that no later attempt scored: its latest failure (run, stage, error, when).
-- Formula: latest failures row per audio_path, kept unless calls has that audio_path with
-- processed_at >= the failure's time. Metadata problems are warnings about a CSV row (the call itself
-- was processed), so they are left out.
CREATE OR REPLACE VIEW open_failures AS
SELECT f.run_id, f.audio_path, f.stage, f.error, f."at"
FROM failures AS f
WHERE f.stage <> 'metadata'
  AND NOT EXISTS (SELECT 1 FROM calls AS c WHERE c.audio_path = f.audio_path AND c.processed_at >= f."at")
QUALIFY row_number() OVER (PARTITION BY f.audio_path ORDER BY f."at" DESC, f.run_id) = 1;
