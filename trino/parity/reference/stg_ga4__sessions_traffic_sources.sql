-- dbt-ga4 stg_ga4__sessions_traffic_sources: distinct non-NULL session_key among events other than
-- session_start and first_visit (docs/semantics.md#session-traffic-source; E′ in
-- docs/semantics.md#row-count-parity).
SELECT count(DISTINCT session_key) AS reference_rows
FROM export_events
WHERE event_name NOT IN ('session_start', 'first_visit')
