-- dbt-ga4 fct_ga4__pages: distinct (event_date_dt, stream_id, cleaned page_location) over page_view
-- events; a NULL page_location is one group per date and stream (docs/semantics.md#pages,
-- docs/semantics.md#row-count-parity).
SELECT count(*) AS reference_rows
FROM (
    SELECT DISTINCT event_date_dt, stream_id, page_location
    FROM export_events
    WHERE event_name = 'page_view'
)
