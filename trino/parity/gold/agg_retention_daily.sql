-- gold.agg_retention_daily rows (cohort x day_n) of cohorts in the range, observed by its last day.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.agg_retention_daily
WHERE cohort_date BETWEEN DATE '{start}' AND DATE '{end}'
  AND activity_date <= DATE '{end}'
