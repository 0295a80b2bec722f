-- gold.dim_user rows of users with an event in the range.
SELECT count(*) AS gold_rows
FROM postgresql.{pg_schema}.dim_user AS u
WHERE u.first_seen_date <= DATE '{end}'
  AND u.last_seen_date >= DATE '{start}'
  AND u.user_pseudo_id IN (
      SELECT e.user_pseudo_id
      FROM postgresql.{pg_schema}.fact_events AS e
      WHERE e.event_date BETWEEN DATE '{start}' AND DATE '{end}'
  )
