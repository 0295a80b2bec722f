-- gold.agg_page_daily rows (date x page x stream) dated in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.agg_page_daily
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
