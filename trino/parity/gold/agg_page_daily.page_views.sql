-- Page views of gold.agg_page_daily dated in the range.
SELECT coalesce(sum(page_views), 0) AS gold_rows
FROM postgresql.{pg_schema}.agg_page_daily
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
