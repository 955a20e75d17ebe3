-- kpi_case: case efficiency (seed 000 KPI 4, case 的解决效率) per day, from call_cases. Case figures count
-- each case on the date of its first call; call figures count each call on its own date.
--   cases                        = cases whose first call is that day (cases_from_case_id, cases_from_caller
--                                  and single_call_cases by how they were formed)
--   first_contact_resolution_rate = cases opened by an inbound call with no later inbound call in the case
--                                  / cases opened by an inbound call (the center's own return visits and
--                                  callbacks do not reopen a case)
--   quick_solve_rate             = cases resolved at first contact whose first call's talk_s <= quick_solve_s
--                                  (default 60) / cases opened by an inbound call  (seed 000: judge whether
--                                  the problem can be solved on the phone within 1 minute)
--   median_case_hours            = median over cases of (end of the last call - start of the first), hours
--   repeat_calls, repeat_call_rate = inbound calls with repeat_call / inbound calls with a start time
--                                  (repeat window: repeat_window_days, default 7)
--   complaints, complaint_callback_rate = inbound complaint calls; share with called_back (an outbound call to
--                                  the same number within callback_window_hours, default 24)
-- kpi_case_between(date_from, date_to, per_day): the same over a period; per_day = false gives one row for
-- the whole period (case_date NULL). Cases are formed over all calls, so a case's later calls count even
-- when they fall after date_to.
CREATE OR REPLACE MACRO kpi_case_between(date_from, date_to, per_day) AS TABLE
WITH cc AS MATERIALIZED (
    SELECT * FROM call_cases  -- read twice below: computed once
),
settings AS (
    SELECT max(value) FILTER (WHERE name = 'quick_solve_s') AS quick_solve_s FROM kpi_settings
),
cases AS (
    SELECT
        case_key,
        any_value(case_source) AS case_source,
        CAST(min(started_at) AS DATE) AS case_date,
        arg_min(inbound, started_at) AS opened_inbound,
        arg_min(talk_s, started_at) AS first_talk_s,
        count(*) FILTER (WHERE inbound AND started_at > first_started_at) AS later_inbound,
        date_diff('second', min(started_at), max(end_at)) / 3600.0 AS case_hours
    FROM (SELECT *, min(started_at) OVER (PARTITION BY case_key) AS first_started_at FROM cc)
    WHERE started_at IS NOT NULL
    GROUP BY case_key
),
case_figures AS (
    SELECT
        CASE WHEN per_day THEN case_date END AS day,
        count(*) AS cases,
        count(*) FILTER (WHERE case_source = 'case_id') AS cases_from_case_id,
        count(*) FILTER (WHERE case_source = 'caller_window') AS cases_from_caller,
        count(*) FILTER (WHERE case_source = 'single_call') AS single_call_cases,
        round(count(*) FILTER (WHERE opened_inbound AND later_inbound = 0)
              / nullif(count(*) FILTER (WHERE opened_inbound), 0), 3) AS first_contact_resolution_rate,
        round(count(*) FILTER (WHERE opened_inbound AND later_inbound = 0 AND first_talk_s <= s.quick_solve_s)
              / nullif(count(*) FILTER (WHERE opened_inbound), 0), 3) AS quick_solve_rate,
        round(median(case_hours), 2) AS median_case_hours
    FROM cases, settings AS s
    WHERE (CAST(date_from AS DATE) IS NULL OR case_date >= CAST(date_from AS DATE))
      AND (CAST(date_to AS DATE) IS NULL OR case_date <= CAST(date_to AS DATE))
    GROUP BY ALL
),
call_figures AS (
    SELECT
        CASE WHEN per_day THEN call_date END AS day,
        count(repeat_call) AS inbound_calls,
        count(*) FILTER (WHERE repeat_call) AS repeat_calls,
        round(count(*) FILTER (WHERE repeat_call) / nullif(count(repeat_call), 0), 3) AS repeat_call_rate,
        count(called_back) AS complaints,
        round(count(*) FILTER (WHERE called_back) / nullif(count(called_back), 0), 3) AS complaint_callback_rate
    FROM cc
    WHERE started_at IS NOT NULL
      AND (CAST(date_from AS DATE) IS NULL OR call_date >= CAST(date_from AS DATE))
      AND (CAST(date_to AS DATE) IS NULL OR call_date <= CAST(date_to AS DATE))
    GROUP BY ALL
),
spine AS (
    SELECT day FROM period_days(date_from, date_to) WHERE per_day
    UNION
    SELECT CAST(NULL AS DATE) WHERE NOT per_day
)
SELECT
    s.day AS case_date,
    coalesce(c.cases, 0) AS cases,
    coalesce(c.cases_from_case_id, 0) AS cases_from_case_id,
    coalesce(c.cases_from_caller, 0) AS cases_from_caller,
    coalesce(c.single_call_cases, 0) AS single_call_cases,
    c.first_contact_resolution_rate,
    c.quick_solve_rate,
    c.median_case_hours,
    coalesce(k.inbound_calls, 0) AS inbound_calls,
    coalesce(k.repeat_calls, 0) AS repeat_calls,
    k.repeat_call_rate,
    coalesce(k.complaints, 0) AS complaints,
    k.complaint_callback_rate
FROM spine AS s
LEFT JOIN case_figures AS c ON c.day IS NOT DISTINCT FROM s.day
LEFT JOIN call_figures AS k ON k.day IS NOT DISTINCT FROM s.day
ORDER BY case_date;

CREATE OR REPLACE VIEW kpi_case AS SELECT * FROM kpi_case_between(NULL, NULL, true);
