-- Traffic-source performance: sessions, users, engagement, purchases and revenue per session start
-- date and session source / medium / campaign / channel, with per-session ratios and the source's
-- share of the day's sessions and revenue. Sums stay additive, so dashboards can roll up freely.
with daily as (
    select * from {{ source('gold', 'agg_traffic_source_daily') }}
),

day_totals as (
    select
        event_date,
        sum(sessions) as day_sessions,
        sum(purchase_revenue_in_usd) as day_revenue_in_usd
    from daily
    group by event_date
)

select
    d.event_date,
    d.default_channel_group,
    d.source,
    d.medium,
    d.campaign,
    d.source || ' / ' || d.medium as source_medium,
    d.sessions,
    d.users,
    d.new_user_sessions,
    d.engaged_sessions,
    d.page_views,
    d.engagement_time_msec,
    d.purchase_events,
    d.transactions,
    d.sessions_with_purchase,
    d.purchase_revenue_in_usd,
    d.conversion_rate,
    d.engagement_rate,
    d.page_views::double precision / nullif(d.sessions, 0) as page_views_per_session,
    d.engagement_time_msec / 1000.0 / nullif(d.sessions, 0) as avg_engagement_seconds,
    d.purchase_revenue_in_usd / nullif(d.sessions, 0) as revenue_per_session_usd,
    d.purchase_revenue_in_usd / nullif(d.transactions, 0) as average_order_value_usd,
    d.sessions::double precision / nullif(t.day_sessions, 0) as share_of_day_sessions,
    d.purchase_revenue_in_usd / nullif(t.day_revenue_in_usd, 0) as share_of_day_revenue
from daily as d
inner join day_totals as t on t.event_date = d.event_date
