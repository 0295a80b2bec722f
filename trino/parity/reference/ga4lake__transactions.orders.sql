-- Value check, ga4lake rule (docs/semantics.md#transactions; dbt-ga4 counts orders only in a disabled
-- model): within a session, purchase events with the same transaction id (ecommerce, else the
-- parameter) are one order; a NULL or '(not set)' id makes each purchase event its own order (a
-- duplicate export row has the same timestamp, so it is the same order). Sessionless purchases
-- (consent-denied) belong to no session. Orders of sessions starting in the range.
WITH session_starts AS (
    SELECT session_key, min(event_date_dt) AS session_start_date
    FROM export_events
    WHERE session_key IS NOT NULL
    GROUP BY session_key
),

orders AS (
    SELECT DISTINCT
        session_key,
        IF(
            transaction_id IS NULL OR transaction_id = '(not set)',
            'event:' || CAST(event_timestamp AS varchar),
            'id:' || transaction_id
        ) AS order_key
    FROM export_events
    WHERE event_name = 'purchase' AND session_key IS NOT NULL
)

SELECT count(*) AS reference_rows
FROM orders
JOIN session_starts USING (session_key)
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
