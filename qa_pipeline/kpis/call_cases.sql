-- call_cases: every call with the case it belongs to and the follow-up calls around it (seed 000 KPI 4,
-- case 的解决效率). Windows come from kpi_settings (the scorecard's [kpis] table).
--   case_key       = 'case:' || case_id when metadata gives a case id; otherwise calls from one caller
--                    number form one case while each follows the previous within case_window_hours
--                    ('caller:' || number || ':' || n); a call with neither is a case of its own ('call:' || call_id)
--   case_source    = 'case_id' | 'caller_window' | 'single_call'
--   caller_key     = caller_number, else case_key: who "the same customer" is for repeats
--   repeat_call    = an inbound call after another inbound call of the same caller_key within
--                    repeat_window_days (NULL for outbound calls and calls without a start time)
--   called_back    = for an inbound complaint: an outbound call to the same number followed within
--                    callback_window_hours of its start (NULL for other calls)
--   end_at         = ended_at, else started_at + duration_s (else + talk_s)
CREATE OR REPLACE VIEW call_cases AS
WITH settings AS (
    SELECT
        max(value) FILTER (WHERE name = 'case_window_hours') AS case_window_hours,
        max(value) FILTER (WHERE name = 'repeat_window_days') AS repeat_window_days,
        max(value) FILTER (WHERE name = 'callback_window_hours') AS callback_window_hours
    FROM kpi_settings
),
timed AS (
    SELECT
        call_id, case_id, caller_number, started_at, call_date, direction, call_type, talk_s,
        coalesce(ended_at, started_at + to_microseconds(CAST(1e6 * coalesce(duration_s, talk_s, 0) AS BIGINT))) AS end_at,
        coalesce(direction, 'inbound') = 'inbound' AS inbound
    FROM (SELECT *, CAST(started_at AS DATE) AS call_date FROM calls)  -- not call_facts: no check verdicts needed
),
by_caller AS (
    -- calls without a case id but with a number and a start: a new case when the gap to the number's
    -- previous such call exceeds the window
    SELECT
        call_id,
        sum(CASE WHEN previous_start IS NULL
                   OR started_at - previous_start > to_microseconds(CAST(3600e6 * s.case_window_hours AS BIGINT))
                 THEN 1 ELSE 0 END)
            OVER (PARTITION BY caller_number ORDER BY started_at, call_id ROWS UNBOUNDED PRECEDING) AS case_seq
    FROM (
        SELECT call_id, caller_number, started_at,
               lag(started_at) OVER (PARTITION BY caller_number ORDER BY started_at, call_id) AS previous_start
        FROM timed
        WHERE case_id IS NULL AND caller_number IS NOT NULL AND started_at IS NOT NULL
    ) AS gaps, settings AS s
),
keyed AS (
    SELECT
        t.*,
        CASE
            WHEN t.case_id IS NOT NULL THEN 'case:' || t.case_id
            WHEN b.case_seq IS NOT NULL THEN 'caller:' || t.caller_number || ':' || b.case_seq
            ELSE 'call:' || t.call_id
        END AS case_key,
        CASE WHEN t.case_id IS NOT NULL THEN 'case_id' WHEN b.case_seq IS NOT NULL THEN 'caller_window'
             ELSE 'single_call' END AS case_source
    FROM timed AS t
    LEFT JOIN by_caller AS b USING (call_id)
),
inbound_calls AS (
    SELECT coalesce(caller_number, case_key) AS caller_key, started_at FROM keyed WHERE inbound AND started_at IS NOT NULL
),
outbound_calls AS (
    SELECT caller_number, started_at FROM keyed WHERE NOT inbound AND caller_number IS NOT NULL AND started_at IS NOT NULL
),
with_previous AS (
    SELECT k.*, coalesce(k.caller_number, k.case_key) AS caller_key, p.started_at AS previous_inbound_at
    FROM keyed AS k
    ASOF LEFT JOIN inbound_calls AS p
        ON coalesce(k.caller_number, k.case_key) = p.caller_key AND k.started_at > p.started_at
),
with_next_outbound AS (
    SELECT w.*, o.started_at AS next_outbound_at
    FROM with_previous AS w
    ASOF LEFT JOIN outbound_calls AS o ON w.caller_number = o.caller_number AND w.started_at < o.started_at
)
SELECT
    w.call_id, w.case_key, w.case_source, w.caller_key, w.caller_number, w.started_at, w.end_at, w.call_date,
    w.direction, w.call_type, w.talk_s, w.inbound,
    CASE WHEN w.inbound AND w.started_at IS NOT NULL THEN
        coalesce(w.started_at - w.previous_inbound_at
                 <= to_microseconds(CAST(86400e6 * s.repeat_window_days AS BIGINT)), false)
    END AS repeat_call,
    CASE WHEN w.inbound AND w.call_type = 'complaint' AND w.started_at IS NOT NULL THEN
        coalesce(w.next_outbound_at - w.started_at
                 <= to_microseconds(CAST(3600e6 * s.callback_window_hours AS BIGINT)), false)
    END AS called_back
FROM with_next_outbound AS w, settings AS s;
