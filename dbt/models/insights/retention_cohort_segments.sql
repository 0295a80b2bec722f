-- Retention by first-visit cohort and segment (device, country and session channel of the user's
-- first session): one row per cohort, segment and day n (0 .. 30) on which at least one member was
-- active, with the segment's cohort size. Day 0 is always present (returning = cohort size), so a
-- retention rate under any filter is sum(returning_users) / sum of the day-0 rows' returning_users
-- (the dashboard's metrics do exactly that); days without returns have no row (sparse: ~16x fewer
-- rows than the full grid). Same rules as gold.agg_retention_daily (src/ga4lake/gold/models/retention.py),
-- including what a return is: var ga4lake_retention_return_on (ga4lake.yml retention.return_on, passed
-- by ga4lake) = session_start: a session started that day; any_event: any event that day. Summed over
-- segments it equals agg_retention_daily (integration test).
{{ config(materialized='table', indexes=[{'columns': ['cohort_date']}]) }}

with user_days as (
    select user_pseudo_id, event_date, bool_or(event_name = 'first_visit') as has_first_visit
    from {{ source('gold', 'fact_events') }}
    where user_pseudo_id is not null
    group by user_pseudo_id, event_date
),

last_day as (
    select max(event_date) as last_date from user_days
),

cohort_members as (
    select user_pseudo_id, min(event_date) as cohort_date
    from user_days
    where has_first_visit
    group by user_pseudo_id
),

active_days as (
{%- if var('ga4lake_retention_return_on') == 'any_event' %}
    select user_pseudo_id, event_date from user_days
{%- else %}
    select distinct user_pseudo_id, session_start_date as event_date
    from {{ source('gold', 'fact_sessions') }}
    where user_pseudo_id is not null
    union
    select user_pseudo_id, cohort_date from cohort_members  -- day 0 is every member's, session or not
{%- endif %}
),

first_sessions as (
    select distinct on (user_pseudo_id)
        user_pseudo_id,
        device_category,
        geo_country as country,
        session_default_channel_group as channel
    from {{ source('gold', 'fact_sessions') }}
    order by user_pseudo_id, session_start_ts, session_key
),

member_segments as (
    select
        m.user_pseudo_id,
        m.cohort_date,
        coalesce(f.device_category, '(not set)') as device_category,
        coalesce(f.country, '(not set)') as country,
        coalesce(f.channel, '(not set)') as channel
    from cohort_members as m
    left join first_sessions as f on f.user_pseudo_id = m.user_pseudo_id  -- members without a session: (not set)
),

cohort_sizes as (
    select cohort_date, device_category, country, channel, count(*) as cohort_users
    from member_segments
    group by cohort_date, device_category, country, channel
),

returns as (
    select
        m.cohort_date,
        m.device_category,
        m.country,
        m.channel,
        d.event_date - m.cohort_date as day_n,
        count(*) as returning_users
    from member_segments as m
    inner join active_days as d
        on d.user_pseudo_id = m.user_pseudo_id
        and d.event_date between m.cohort_date and m.cohort_date + 30
    group by m.cohort_date, m.device_category, m.country, m.channel, d.event_date - m.cohort_date
)

select
    r.cohort_date,
    r.device_category,
    r.country,
    r.channel,
    r.day_n,
    r.cohort_date + r.day_n as activity_date,
    s.cohort_users,
    r.returning_users,
    least((select last_date from last_day) - r.cohort_date, 30) as observed_days
from returns as r
inner join cohort_sizes as s
    on s.cohort_date = r.cohort_date
    and s.device_category = r.device_category
    and s.country = r.country
    and s.channel = r.channel
