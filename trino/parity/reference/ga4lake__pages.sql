-- ga4lake rule (no dbt-ga4 model): one page per cleaned URL ever viewed; a page view without a URL
-- (NULL or '') is one page. Counted over page_view events of the range.
SELECT count(DISTINCT coalesce(page_location, '')) AS reference_rows
FROM export_events
WHERE event_name = 'page_view'
