-- ga4lake rule (no dbt-ga4 model): a cohort is the date of a user's first first_visit event; each
-- cohort has one row per observed day 0..30, i.e. min(31, last event date - cohort date + 1) rows.
WITH cohorts AS (
    SELECT DISTINCT first_visit_date AS cohort_date
    FROM (
        SELECT user_pseudo_id, min(event_date_dt) AS first_visit_date
        FROM export_events
        WHERE event_name = 'first_visit' AND user_pseudo_id IS NOT NULL
        GROUP BY user_pseudo_id
    )
),

last_day AS (
    SELECT max(event_date_dt) AS last_date
    FROM export_events
)

SELECT coalesce(sum(least(31, date_diff('day', cohort_date, last_date) + 1)), 0) AS reference_rows
FROM cohorts
CROSS JOIN last_day
