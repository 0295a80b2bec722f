-- dbt-ga4 stg_ga4__sessions_traffic_sources: distinct non-NULL session_key among events other than
-- session_start and first_visit (§4.1, §11: E′).
SELECT count(DISTINCT session_key) AS reference_rows
FROM export_events
WHERE event_name NOT IN ('session_start', 'first_visit')
