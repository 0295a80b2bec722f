-- gold.fact_items rows of events dated in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.fact_items
WHERE event_date BETWEEN DATE '{start}' AND DATE '{end}'
