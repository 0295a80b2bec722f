-- ga4lake rule for agg_item_daily (no dbt-ga4 model): one row per (event date, item id) of the items
-- of events dated in the range, items without an id left out. A count of distinct tuples, so the
-- export's duplicate rows need no removal (export_events.sql).
SELECT count(*) AS reference_rows
FROM (
    SELECT DISTINCT e.event_date_dt, i.item_id
    FROM export_events AS e
    CROSS JOIN UNNEST(transform(e.items, x -> x.item_id)) AS i (item_id)
    WHERE i.item_id IS NOT NULL AND e.event_date_dt BETWEEN DATE '{start}' AND DATE '{end}'
)
