-- Sessions with the dashboard's segments: one row per session (start date, device, country, session
-- channel / source / medium) with its user and outcome, so KPI tiles can count distinct users and
-- every ratio stays exact under any filter. A table: the dashboard reads it on every render.
{{ config(materialized='table', indexes=[{'columns': ['event_date']}]) }}

with sessions as (
    select * from {{ source('gold', 'fact_sessions') }}
)

select
    session_key,
    session_start_date as event_date,
    coalesce(device_category, '(not set)') as device_category,
    coalesce(geo_country, '(not set)') as country,
    coalesce(session_default_channel_group, '(not set)') as channel,
    session_source as source,
    session_medium as medium,
    session_source || ' / ' || session_medium as source_medium,
    user_pseudo_id collate "C" as user_pseudo_id,  -- bytewise: count(distinct) sorts 2-3x faster
    case when is_engaged then 1 else 0 end as engaged,
    case when purchase_events > 0 then 1 else 0 end as converted,
    transactions,
    purchase_revenue_in_usd
from sessions
