-- gold.dim_page rows of pages viewed in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.dim_page AS p
WHERE p.first_seen_date <= DATE '{end}'
  AND p.page_id IN (
      SELECT a.page_id
      FROM postgresql.{pg_schema}.agg_page_daily AS a
      WHERE a.event_date BETWEEN DATE '{start}' AND DATE '{end}'
  )
