-- Σ over (session start date, landing page) of sessions² in gold.fact_sessions, sessions starting in
-- the range (CAST: n * n of an integer count stays exact in both engines).
SELECT coalesce(sum(CAST(n AS bigint) * CAST(n AS bigint)), 0) AS gold_rows
FROM (
    SELECT session_start_date, landing_page_location, count(*) AS n
    FROM postgresql.{pg_schema}.fact_sessions
    WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
    GROUP BY session_start_date, landing_page_location
) AS pages
