-- Returning users of gold.agg_retention_daily's D1 and D7 cells, for cohorts in the range and return
-- days up to its end.
SELECT coalesce(sum(returning_users), 0) AS gold_rows
FROM postgresql.{pg_schema}.agg_retention_daily
WHERE day_n IN (1, 7)
  AND cohort_date BETWEEN DATE '{start}' AND DATE '{end}'
  AND activity_date <= DATE '{end}'
