-- gold.agg_traffic_source_daily rows (session start date x source / medium / campaign / channel).
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.agg_traffic_source_daily
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
