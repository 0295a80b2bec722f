-- Value check. Sessions per landing page: dbt-ga4 dim_ga4__sessions takes the landing page from the
-- session's first event that is not session_start/first_visit (docs/semantics.md#sessions); a session
-- with no other event keeps its first event's page. Measure = Σ over (session start date, landing
-- page) of sessions²: a plain sum would be the session count, the square makes it move whenever
-- sessions move between landing pages (one session from a page with a sessions to one with b changes
-- it by 2(b − a + 1)). Sessions starting in the range (export_events reaches one day back).
WITH sessions AS (
    SELECT
        session_key,
        min(event_date_dt) AS session_start_date,
        coalesce(
            min_by(page_location, event_timestamp) FILTER (WHERE event_name NOT IN ('session_start', 'first_visit')),
            min_by(page_location, event_timestamp)
        ) AS landing_page
    FROM export_events
    WHERE session_key IS NOT NULL
    GROUP BY session_key
)

SELECT coalesce(sum(n * n), 0) AS reference_rows
FROM (
    SELECT session_start_date, landing_page, count(*) AS n
    FROM sessions
    WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
    GROUP BY session_start_date, landing_page
)
