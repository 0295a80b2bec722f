-- gold.dim_traffic_source rows of sessions with events in the range (span from fact_sessions).
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.dim_traffic_source AS t
WHERE t.session_key IN (
    SELECT s.session_key
    FROM postgresql.{pg_schema}.fact_sessions AS s
    WHERE s.session_start_date <= DATE '{end}' AND s.session_end_date >= DATE '{start}'
)
