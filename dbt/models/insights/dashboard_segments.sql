-- The values the dashboard's Device, Country and Channel filters offer: one row per combination of the
-- three seen in sessions, with its sessions. Superset asks for each filter's options every time the
-- dashboard opens; from this table (a few hundred rows) instead of a scan of every session, and the
-- cost stays flat as days and volume grow. Every value of session_segments is here by construction (a group by
-- of it); no relationships test, since Cosmos would run it with session_segments, before this table exists.
{{ config(materialized='table') }}

select
    device_category,
    country,
    channel,
    count(*) as sessions
from {{ ref('session_segments') }}
group by device_category, country, channel
