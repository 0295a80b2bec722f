-- Purchase revenue (US cents) of gold.fact_sessions starting in the range.
SELECT CAST(round(coalesce(sum(purchase_revenue_in_usd), 0) * 100) AS bigint) AS gold_rows
FROM postgresql.{pg_schema}.fact_sessions
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
