-- Funnel by session start date and segment (device, country, session channel): one row per day,
-- segment and stage (all eight, zeros included) with the sessions that reached the stage in the
-- open funnel (any order) and in the closed funnel (every earlier stage first), and the previous
-- stage's counts, so drop-off and conversion stay additive under any dashboard filter.
-- Same rules as gold.agg_funnel_daily (src/ga4lake/gold/models/funnel.py): a session belongs to its
-- start date, stage 1 is every session, stage k (closed) counts at its first event at or after the
-- moment stage k-1 was reached. Summed over segments it equals agg_funnel_daily (integration test).
{{ config(materialized='table', indexes=[{'columns': ['event_date']}]) }}

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
        session_key,
        min(event_timestamp_us) filter (where event_name = 'page_view') as page_view_at,
        array_agg(event_timestamp_us) filter (where event_name = 'view_item') as view_item_times,
        array_agg(event_timestamp_us) filter (where event_name = 'add_to_cart') as add_to_cart_times,
        array_agg(event_timestamp_us) filter (where event_name = 'begin_checkout') as begin_checkout_times,
        array_agg(event_timestamp_us) filter (where event_name = 'add_shipping_info') as add_shipping_info_times,
        array_agg(event_timestamp_us) filter (where event_name = 'add_payment_info') as add_payment_info_times,
        array_agg(event_timestamp_us) filter (where event_name = 'purchase') as purchase_times
    from {{ source('gold', 'fact_events') }}
    where session_key is not null
      and event_name in (
          'page_view', 'view_item', 'add_to_cart', 'begin_checkout',
          'add_shipping_info', 'add_payment_info', 'purchase'
      )
    group by session_key
),

closed_stage_times as (
    -- page_view is never before the session's first event, so it needs no lower bound
    select
        t.*,
        vi.at as view_item_at,
        ac.at as add_to_cart_at,
        bc.at as begin_checkout_at,
        si.at as add_shipping_info_at,
        pi.at as add_payment_info_at,
        pu.at as purchase_at
    from stage_event_times as t
    cross join lateral (select min(x) as at from unnest(t.view_item_times) as x where x >= t.page_view_at) as vi
    cross join lateral (select min(x) as at from unnest(t.add_to_cart_times) as x where x >= vi.at) as ac
    cross join lateral (select min(x) as at from unnest(t.begin_checkout_times) as x where x >= ac.at) as bc
    cross join lateral (select min(x) as at from unnest(t.add_shipping_info_times) as x where x >= bc.at) as si
    cross join lateral (select min(x) as at from unnest(t.add_payment_info_times) as x where x >= si.at) as pi
    cross join lateral (select min(x) as at from unnest(t.purchase_times) as x where x >= pi.at) as pu
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
            (1, 'session_start', true, true),
            (2, 'page_view', c.page_view_at is not null, c.page_view_at is not null),
            (3, 'view_item', c.view_item_times is not null, c.view_item_at is not null),
            (4, 'add_to_cart', c.add_to_cart_times is not null, c.add_to_cart_at is not null),
            (5, 'begin_checkout', c.begin_checkout_times is not null, c.begin_checkout_at is not null),
            (6, 'add_shipping_info', c.add_shipping_info_times is not null, c.add_shipping_info_at is not null),
            (7, 'add_payment_info', c.add_payment_info_times is not null, c.add_payment_info_at is not null),
            (8, 'purchase', c.purchase_times is not null, c.purchase_at is not null)
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
