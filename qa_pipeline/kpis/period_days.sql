-- period_days(date_from, date_to): every day of a period, one row each (column `day`), for the views that
-- give days without calls a row. A NULL bound is the first / last call date in the database.
CREATE OR REPLACE MACRO period_days(date_from, date_to) AS TABLE
SELECT CAST(d.day AS DATE) AS day
FROM range(
    coalesce(CAST(date_from AS DATE), (SELECT CAST(min(started_at) AS DATE) FROM calls)),
    coalesce(CAST(date_to AS DATE), (SELECT CAST(max(started_at) AS DATE) FROM calls)) + INTERVAL 1 DAY,
    INTERVAL 1 DAY
) AS d(day);
