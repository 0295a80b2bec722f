-- dbt-ga4 stg_ga4__sessions_traffic_sources' choice of a session's traffic event
-- (docs/semantics.md#session-traffic-source): per session_key, its start date (the date of its first
-- event) and the source / medium / campaign of its first event (by event_timestamp) that is not
-- session_start or first_visit and has a source other than '(direct)' (NULL when there is none).
-- parity.py renders it into the references that read sessions' traffic as the placeholder
-- session_attribution (a SELECT over export_events).
SELECT
    session_key,
    min(event_date_dt) AS session_start_date,
    min_by(
        CAST(ROW(event_source, event_medium, event_campaign) AS ROW(source varchar, medium varchar, campaign varchar)),
        event_timestamp
    ) FILTER (
        WHERE event_name NOT IN ('session_start', 'first_visit')
          AND event_source IS NOT NULL
          AND event_source <> '(direct)'
    ) AS attribution
FROM export_events
WHERE session_key IS NOT NULL
GROUP BY session_key
