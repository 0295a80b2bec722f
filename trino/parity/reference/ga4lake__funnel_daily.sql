-- ga4lake rule (no dbt-ga4 model): one row per funnel stage (ga4lake.yml funnel.stages, 8 by default)
-- for every date on which a session starts
-- (a session's start date = the date of its first event; non-NULL session_key only).
SELECT {funnel_stage_count} * count(DISTINCT session_start_date) AS reference_rows
FROM (
    SELECT session_key, min(event_date_dt) AS session_start_date
    FROM export_events
    WHERE session_key IS NOT NULL
    GROUP BY session_key
)
