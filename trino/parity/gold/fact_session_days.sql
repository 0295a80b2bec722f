-- gold.fact_session_days rows (session x date) dated in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.fact_session_days
WHERE session_partition_date BETWEEN DATE '{start}' AND DATE '{end}'
