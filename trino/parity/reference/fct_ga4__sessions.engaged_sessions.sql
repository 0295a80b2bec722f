-- Value check. dbt-ga4 is_session_engaged (docs/semantics.md#engaged-sessions): a session is engaged when
-- any of its events has session_engaged = 1 (the integer parameter, else 1 for the string '1'). Sessions
-- starting in the range (start = date of the first event; export_events reaches one day back for
-- this). Distinct keys, so export duplicates do not matter.
SELECT count_if(engaged = 1) AS reference_rows
FROM (
    SELECT session_key, min(event_date_dt) AS session_start_date, max(session_engaged) AS engaged
    FROM export_events
    WHERE session_key IS NOT NULL
    GROUP BY session_key
)
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
