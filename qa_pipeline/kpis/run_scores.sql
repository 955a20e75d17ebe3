-- run_scores: every pipeline run (the runs table) with the scores of the calls it scored, verdicts in
-- force (call_facts). A call re-scored by a later run counts under that later run only.
--   started_at .. input_dir   = the runs row (calls_ok, calls_failed: what the run counted when it ended)
--   calls                     = calls whose current scores come from this run (call_facts.run_id)
--   avg_qa_score              = avg(qa_score) over those calls with a verdict (judged), as kpi_by (0-100)
--   qa_pass_rate              = calls with qa_passed / calls with a verdict, as kpi_by
--   calls_not_judged          = calls the machine gave no verdict (not in the two figures above)
--   fatal_failures            = calls where a fatal check failed
--   overrides                 = check verdicts a QA lead changed, over those calls
--   failures                  = failures rows of the run (run_failures), metadata warnings included
--   open_failures             = of those, the recordings still in open_failures under this run
-- Order: latest run first (started_at DESC, run_id).
CREATE OR REPLACE VIEW run_scores AS
WITH scored AS (
    SELECT
        run_id,
        count(*) AS calls,
        round(avg(qa_score), 1) AS avg_qa_score,
        round(count(*) FILTER (WHERE qa_passed) / nullif(count(qa_passed), 0), 3) AS qa_pass_rate,
        count(*) FILTER (WHERE NOT judged) AS calls_not_judged,
        CAST(sum(fatal_failed) AS BIGINT) AS fatal_failures,
        CAST(sum(overrides) AS BIGINT) AS overrides
    FROM call_facts
    GROUP BY run_id
),
failed AS (SELECT run_id, count(*) AS failures FROM failures GROUP BY run_id),
still_open AS (SELECT run_id, count(*) AS open_failures FROM open_failures GROUP BY run_id)
SELECT
    r.run_id,
    r.flow_run_id,
    r.started_at,
    r.finished_at,
    r.calls_ok,
    r.calls_failed,
    r.asr_model,
    r.scorecard_hash,
    r.scorecard_name,
    r.input_dir,
    coalesce(s.calls, 0) AS calls,
    s.avg_qa_score,
    s.qa_pass_rate,
    coalesce(s.calls_not_judged, 0) AS calls_not_judged,
    coalesce(s.fatal_failures, 0) AS fatal_failures,
    coalesce(s.overrides, 0) AS overrides,
    coalesce(fl.failures, 0) AS failures,
    coalesce(o.open_failures, 0) AS open_failures
FROM runs AS r
LEFT JOIN scored AS s USING (run_id)
LEFT JOIN failed AS fl USING (run_id)
LEFT JOIN still_open AS o USING (run_id)
ORDER BY r.started_at DESC, r.run_id;
