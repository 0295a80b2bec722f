-- dbt-ga4 fct_ga4__sessions_daily: distinct non-NULL session_partition_key in stg_ga4__events
-- (session_start and first_visit included; docs/semantics.md#session-days,
-- docs/semantics.md#row-count-parity).
SELECT count(DISTINCT session_partition_key) AS reference_rows
FROM export_events
