-- period_days(date_from, date_to): every day of a period, one row each (column `day`), for the views that
-- give days without calls a row. A NULL bound is the first / last call date in the database, counting
-- only plausible call dates (2000-01-01 to tomorrow, as qa_pipeline/intake/metadata.py accepts): a placeholder
-- date such as 9999-12-31 in a database written by an older version would otherwise make millions of
-- empty days.
CREATE OR REPLACE MACRO period_days(date_from, date_to) AS TABLE
WITH plausible AS (
    SELECT CAST(started_at AS DATE) AS call_date
    FROM calls
    WHERE started_at >= TIMESTAMP '2000-01-01' AND started_at < current_date + INTERVAL 2 DAY
)
SELECT CAST(d.day AS DATE) AS day
FROM range(
    coalesce(CAST(date_from AS DATE), (SELECT min(call_date) FROM plausible)),
    coalesce(CAST(date_to AS DATE), (SELECT max(call_date) FROM plausible)) + INTERVAL 1 DAY,
    INTERVAL 1 DAY
) AS d(day);
