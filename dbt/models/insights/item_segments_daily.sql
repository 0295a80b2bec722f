-- Items with the dashboard's segments: one row per session start date x device x country x channel x item,
-- with what the sessions of that segment did with the item (views, adds to cart, purchases, revenue) and
-- how many of them did it. A session has one start date and one segment, so the distinct-session counts
-- add up across rows and cart-to-purchase stays exact under any dashboard filter. A table: the dashboard
-- reads it on every render.
{{ config(materialized='table', indexes=[{'columns': ['event_date']}]) }}

with items as (
    select session_key, item_id, item_name, event_name, quantity, item_revenue_in_usd
    from {{ source('gold', 'fact_items') }}
    where item_id is not null and session_key is not null
),

sessions as (
    select session_key, event_date, device_category, country, channel
    from {{ ref('session_segments') }}
),

per_session as (  -- what one session did with one item
    select
        s.event_date, s.device_category, s.country, s.channel, i.item_id, i.session_key,
        count(*) filter (where i.event_name = 'view_item') as item_views,
        count(*) filter (where i.event_name = 'add_to_cart') as add_to_carts,
        count(*) filter (where i.event_name = 'purchase') as purchases,
        coalesce(sum(i.quantity) filter (where i.event_name = 'purchase'), 0) as quantity_purchased,
        coalesce(sum(i.item_revenue_in_usd) filter (where i.event_name = 'purchase'), 0) as item_revenue_in_usd
    from items as i
    join sessions as s using (session_key)
    group by 1, 2, 3, 4, 5, 6
),

names as (  -- one name per id over the whole range, so a chart grouped by name never splits an item
    select item_id, max(item_name) as item_name from items group by 1
)

select
    p.event_date,
    p.device_category,
    p.country,
    p.channel,
    p.item_id,
    coalesce(n.item_name, p.item_id) as item_name,
    sum(p.item_views)::bigint as item_views,
    sum(p.add_to_carts)::bigint as add_to_carts,
    sum(p.purchases)::bigint as purchases,
    sum(p.quantity_purchased)::bigint as quantity_purchased,
    sum(p.item_revenue_in_usd)::numeric as item_revenue_in_usd,
    count(*) filter (where p.item_views > 0)::bigint as view_sessions,
    count(*) filter (where p.add_to_carts > 0)::bigint as cart_sessions,
    count(*) filter (where p.purchases > 0)::bigint as purchase_sessions
from per_session as p
left join names as n using (item_id)
group by 1, 2, 3, 4, 5, 6
