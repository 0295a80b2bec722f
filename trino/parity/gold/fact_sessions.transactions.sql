-- Orders (distinct transactions) of gold.fact_sessions starting in the range.
SELECT coalesce(sum(transactions), 0) AS gold_rows
FROM postgresql.{pg_schema}.fact_sessions
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
