-- Value check, ga4lake rule (docs/semantics.md#transactions): revenue in US cents of the orders of
-- sessions starting in the range, each order once with the ecommerce.purchase_revenue_in_usd of its
-- first purchase event (orders as in ga4lake__transactions.orders.sql).
WITH session_starts AS (
    SELECT session_key, min(event_date_dt) AS session_start_date
    FROM export_events
    WHERE session_key IS NOT NULL
    GROUP BY session_key
),

orders AS (
    SELECT session_key, min_by(purchase_revenue_in_usd, event_timestamp) AS revenue
    FROM export_events
    WHERE event_name = 'purchase' AND session_key IS NOT NULL
    GROUP BY
        session_key,
        IF(
            transaction_id IS NULL OR transaction_id = '(not set)',
            'event:' || CAST(event_timestamp AS varchar),
            'id:' || transaction_id
        )
)

SELECT CAST(round(coalesce(sum(revenue), 0) * 100) AS bigint) AS reference_rows
FROM orders
JOIN session_starts USING (session_key)
WHERE session_start_date BETWEEN DATE '{start}' AND DATE '{end}'
