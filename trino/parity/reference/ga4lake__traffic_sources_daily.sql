-- ga4lake rule built on dbt-ga4 stg_ga4__sessions_traffic_sources (docs/semantics.md#session-traffic-source):
-- each session's source /
-- medium / campaign come from its first event (by event_timestamp) that is not session_start or
-- first_visit and has a source other than '(direct)' (gclid rule applied); no such event = (direct) /
-- (none) / (none); a NULL medium or campaign of the chosen event = '(none)'. Rows = distinct
-- (session start date, source, medium, campaign). The default channel group is a function of these
-- (plus the source's category), so it adds no rows — except when a raw NULL and a literal '(none)'
-- medium or campaign of one source map to different channels, which the sample does not do.
WITH sessions AS (
{session_attribution}
)

SELECT count(*) AS reference_rows
FROM (
    SELECT DISTINCT
        session_start_date,
        coalesce(attribution.source, '(direct)') AS source,
        coalesce(attribution.medium, '(none)') AS medium,
        coalesce(attribution.campaign, '(none)') AS campaign
    FROM sessions
)
