-- Σ over gold.fact_sessions starting in the range of the session channel's weight: its position in
-- dbt-ga4's rule list (Direct 1 … Unassigned 19, any other name 100), rendered by parity.py as
-- channel_weights, the same list the reference weighs with.
SELECT coalesce(sum(coalesce(w.weight, 100)), 0) AS gold_rows
FROM postgresql.{pg_schema}.fact_sessions AS s
LEFT JOIN ({channel_weights}) AS w (channel, weight) ON w.channel = s.session_default_channel_group
WHERE s.session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
