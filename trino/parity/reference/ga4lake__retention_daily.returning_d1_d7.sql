-- Value check. Retention cells D1 and D7 (docs/semantics.md#retention), computed from the export: a
-- cohort is the date of a user's first first_visit event; a member returns on day n per ga4lake.yml
-- retention.return_on, whose active days parity.py renders into retention_active_days:
-- session_start = each session's start date (the date of its first event, dbt-ga4's session start);
-- any_event = every date with an event of the user. Measure = Σ over cohorts starting in the range of
-- the members who returned on day 1 and on day 7, counting only return days up to the range's end
-- (the gold side reads the same cells). Distinct users, so export duplicates do not matter; a user whose
-- first first_visit is the day before the range has a cohort before it and is left out on both sides.
WITH cohorts AS (
    SELECT user_pseudo_id, min(event_date_dt) AS cohort_date
    FROM export_events
    WHERE event_name = 'first_visit' AND user_pseudo_id IS NOT NULL
    GROUP BY user_pseudo_id
),

active_days AS (
{retention_active_days}
)

SELECT count(*) AS reference_rows
FROM (
    SELECT DISTINCT c.user_pseudo_id, c.cohort_date, a.active_date
    FROM cohorts AS c
    INNER JOIN active_days AS a ON a.user_pseudo_id = c.user_pseudo_id
    WHERE date_diff('day', c.cohort_date, a.active_date) IN (1, 7)
      AND c.cohort_date BETWEEN DATE '{start}' AND DATE '{end}'
      AND a.active_date <= DATE '{end}'
)
