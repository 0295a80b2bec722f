-- Value check. Sessions by default channel group, from dbt-ga4 stg_ga4__sessions_traffic_sources: a
-- session's source / medium / campaign are those of its first event (by event_timestamp) that is not
-- session_start/first_visit and has a source other than '(direct)', else (direct) / (none) / (none)
-- (a NULL medium or campaign of the chosen event: '(none)'); its channel is dbt-ga4's
-- default_channel_grouping macro, written out below from the macro (first match wins), with the
-- source category looked up in the source-category map parity.py renders (source_category_map).
-- Measure = Σ over sessions starting in the range of the channel's weight, its position in the rule
-- list (Direct 1 … Unassigned 19, any other name 100; parity.py renders the list as channel_weights,
-- the same for gold), so sessions moving from one channel to another move the sum.
WITH sessions AS (
{session_attribution}
),

traffic AS (
    SELECT
        coalesce(attribution.source, '(direct)') AS source,
        coalesce(attribution.medium, '(none)') AS medium,
        coalesce(attribution.campaign, '(none)') AS campaign,
        element_at({source_category_map}, attribution.source) AS category
    FROM sessions
    WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
),

channels AS (
    SELECT
        CASE
            WHEN (source IS NULL AND medium IS NULL)
                OR (source = '(direct)' AND medium IN ('(none)', '(not set)')) THEN 'Direct'
            WHEN regexp_like(campaign, 'cross-network') THEN 'Cross-network'
            WHEN (category = 'SHOPPING' OR regexp_like(campaign, '^(.*(([^a-df-z]|^)shop|shopping).*)$'))
                AND regexp_like(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') THEN 'Paid Shopping'
            WHEN category = 'SEARCH' AND regexp_like(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') THEN 'Paid Search'
            WHEN category = 'SOCIAL' AND regexp_like(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') THEN 'Paid Social'
            WHEN category = 'VIDEO' AND regexp_like(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') THEN 'Paid Video'
            WHEN medium IN ('display', 'banner', 'expandable', 'interstitial', 'cpm') THEN 'Display'
            WHEN regexp_like(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') THEN 'Paid Other'
            WHEN category = 'SHOPPING' OR regexp_like(campaign, '^(.*(([^a-df-z]|^)shop|shopping).*)$') THEN 'Organic Shopping'
            WHEN category = 'SOCIAL'
                OR medium IN ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
                THEN 'Organic Social'
            WHEN category = 'VIDEO' OR regexp_like(medium, '^(.*video.*)$') THEN 'Organic Video'
            WHEN category = 'SEARCH' OR medium = 'organic' THEN 'Organic Search'
            WHEN medium IN ('referral', 'app', 'link') THEN 'Referral'
            WHEN regexp_like(source, 'email|e-mail|e_mail|e mail') OR regexp_like(medium, 'email|e-mail|e_mail|e mail')
                THEN 'Email'
            WHEN medium = 'affiliate' THEN 'Affiliates'
            WHEN medium = 'audio' THEN 'Audio'
            WHEN source = 'sms' OR medium = 'sms' THEN 'SMS'
            WHEN regexp_like(medium, 'push$') OR regexp_like(medium, 'mobile') OR regexp_like(medium, 'notification')
                OR source = 'firebase' THEN 'Mobile Push Notifications'
            ELSE 'Unassigned'
        END AS channel
    FROM traffic
)

SELECT coalesce(sum(coalesce(w.weight, 100)), 0) AS reference_rows
FROM channels AS c
LEFT JOIN ({channel_weights}) AS w (channel, weight) ON w.channel = c.channel
