-- gold.agg_funnel_daily rows (session start date x stage) dated in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.agg_funnel_daily
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
