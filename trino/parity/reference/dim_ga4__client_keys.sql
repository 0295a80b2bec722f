-- dbt-ga4 dim_ga4__client_keys (= stg_ga4__client_key_first_last_events): distinct non-NULL
-- client_key in stg_ga4__events (docs/semantics.md#users, docs/semantics.md#row-count-parity).
SELECT count(DISTINCT client_key) AS reference_rows
FROM export_events
