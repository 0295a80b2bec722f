-- gold.fact_sessions rows of sessions with events in the range (a session spans
-- session_start_date .. session_end_date).
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.fact_sessions
WHERE session_start_date <= DATE '{end}' AND session_end_date >= DATE '{start}'
