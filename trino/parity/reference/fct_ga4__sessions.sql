-- dbt-ga4 fct_ga4__sessions: distinct non-NULL session_key in stg_ga4__events (docs/semantics.md#sessions,
-- docs/semantics.md#row-count-parity).
-- (count(DISTINCT) ignores NULL keys: consent-denied events form no session.)
SELECT count(DISTINCT session_key) AS reference_rows
FROM export_events
