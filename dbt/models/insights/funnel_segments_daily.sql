-- Funnel by session start date and segment (device, country, session channel): one row per day,
-- segment and stage (every stage, zeros included) with the sessions that reached the stage in the
-- open funnel (any order) and in the closed funnel (every earlier stage first), and the previous
-- stage's counts, so drop-off and conversion stay additive under any dashboard filter.
-- Same rules as gold.agg_funnel_daily (src/ga4lake/gold/models/funnel.py): a session belongs to its
-- start date, stage 1 is every session, stage k (closed) counts at its first event at or after the
-- moment stage k-1 was reached. Summed over segments it equals agg_funnel_daily (integration test).
-- The stages are var ga4lake_funnel_stages (ga4lake.yml funnel.stages; `ga4lake validate` passes the
-- project's list, dbt_project.yml holds the default 8). A first stage session_start is reached at the
-- session's first event, so it and the stage after it need only their first event's time; every later
-- stage k needs all its times to find the first one at or after stage k-1. Columns are named by position.
{{ config(materialized='table', indexes=[{'columns': ['event_date']}]) }}
{%- set stages = var('ga4lake_funnel_stages') %}
{%- set lead = 2 if stages[0] == 'session_start' else 1 %}
{%- set event_stages = stages[1:] if stages[0] == 'session_start' else stages %}

with sessions as (
    select
        session_key,
        session_start_date as event_date,
        coalesce(device_category, '(not set)') as device_category,
        coalesce(geo_country, '(not set)') as country,
        coalesce(session_default_channel_group, '(not set)') as channel
    from {{ source('gold', 'fact_sessions') }}
),

stage_event_times as (
    select
        {%- for s in stages %}
        {%- set i = loop.index %}
        {%- if i == 1 and s == 'session_start' %}
        {%- elif i <= lead %}
        min(event_timestamp_us) filter (where event_name = '{{ s }}') as s{{ i }}_at,
        {%- else %}
        array_agg(event_timestamp_us) filter (where event_name = '{{ s }}') as s{{ i }}_times,
        {%- endif %}
        {%- endfor %}
        session_key
    from {{ source('gold', 'fact_events') }}
    where session_key is not null
      and event_name in ({% for s in event_stages %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
    group by session_key
),

closed_stage_times as (
    -- the leading stages' first times are already in order (module comment)
    select
        {%- for s in stages %}
        {%- if loop.index > lead %}
        c{{ loop.index }}.at as s{{ loop.index }}_at,
        {%- endif %}
        {%- endfor %}
        t.*
    from stage_event_times as t
    {%- for s in stages %}
    {%- set i = loop.index %}
    {%- if i > lead %}
    {%- set previous = 't.s' ~ (i - 1) ~ '_at' if i - 1 <= lead else 'c' ~ (i - 1) ~ '.at' %}
    cross join lateral (select min(x) as at from unnest(t.s{{ i }}_times) as x where x >= {{ previous }}) as c{{ i }}
    {%- endif %}
    {%- endfor %}
),

session_stages as (
    select
        s.event_date,
        s.device_category,
        s.country,
        s.channel,
        stage.stage_order,
        stage.stage,
        stage.reached_open,
        stage.reached_closed
    from sessions as s
    left join closed_stage_times as c on c.session_key = s.session_key
    cross join lateral (
        values
            {%- for s in stages %}
            {%- set i = loop.index %}
            {%- if i == 1 and s == 'session_start' %}
            ({{ i }}, '{{ s }}', true, true)
            {%- elif i <= lead %}
            ({{ i }}, '{{ s }}', c.s{{ i }}_at is not null, c.s{{ i }}_at is not null)
            {%- else %}
            ({{ i }}, '{{ s }}', c.s{{ i }}_times is not null, c.s{{ i }}_at is not null)
            {%- endif %}{{ ',' if not loop.last }}
            {%- endfor %}
    ) as stage (stage_order, stage, reached_open, reached_closed)
),

stage_counts as (
    select
        event_date,
        device_category,
        country,
        channel,
        stage_order,
        stage,
        count(*) as sessions,
        count(*) filter (where reached_open) as open_sessions,
        count(*) filter (where reached_closed) as closed_sessions
    from session_stages
    group by event_date, device_category, country, channel, stage_order, stage
)

select
    *,
    coalesce(lag(open_sessions) over segment_stages, sessions) as previous_stage_open_sessions,
    coalesce(lag(closed_sessions) over segment_stages, sessions) as previous_stage_closed_sessions
from stage_counts
window segment_stages as (partition by event_date, device_category, country, channel order by stage_order)
