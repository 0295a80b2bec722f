-- Sessions per day and segment with their outcome sums: one row per session start date x device x
-- country x session channel x source / medium (≈ 1/10 of the sessions), for the dashboard's Sessions,
-- Conversion rate and Revenue tiles, the traffic-source table and the channel chart. Every metric they
-- show is a sum or a ratio of sums, so this grain answers them exactly under any filter while each
-- render scans a tenth of the rows of session_segments (which stays for distinct users). Summed, it
-- equals session_segments (integration test).
{{ config(materialized='table', indexes=[{'columns': ['event_date']}]) }}

select
    event_date,
    device_category,
    country,
    channel,
    source,
    medium,
    source_medium,
    count(*) as sessions,
    sum(engaged) as engaged_sessions,
    sum(converted) as converted_sessions,
    sum(transactions) as transactions,
    sum(purchase_revenue_in_usd) as purchase_revenue_in_usd
from {{ ref('session_segments') }}
group by event_date, device_category, country, channel, source, medium, source_medium
