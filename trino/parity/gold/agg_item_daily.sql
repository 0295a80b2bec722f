-- gold.agg_item_daily rows dated in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.agg_item_daily
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
