-- Engaged sessions of gold.fact_sessions starting in the range.
SELECT sum(CASE WHEN is_engaged THEN 1 ELSE 0 END) AS gold_rows
FROM postgresql.{pg_schema}.fact_sessions
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
