-- The embedded lower bound of issue #9: the three gold answers (sessions, daily funnel, retention)
-- computed by DuckDB straight from the export Parquet files. {files} is the glob of events_*.parquet.
-- Same rules as gold in spirit (session = user_pseudo_id + ga_session_id, funnel stages by event name,
-- D1/D7 retention by first-seen cohort), without de-duplication, contracts, history or writes.
CREATE OR REPLACE TEMP TABLE ev AS
SELECT
    strptime(event_date, '%Y%m%d')::DATE AS event_date,
    event_name,
    user_pseudo_id,
    user_pseudo_id || '-' || CAST(
        list_extract(list_filter(event_params, lambda p: p.key = 'ga_session_id'), 1).value.int_value AS VARCHAR
    ) AS session_key
FROM read_parquet('{files}');

CREATE OR REPLACE TEMP TABLE sessions AS
SELECT session_key, min(event_date) AS session_date, any_value(user_pseudo_id) AS user_pseudo_id,
       bool_or(event_name = 'page_view') AS page_view, bool_or(event_name = 'view_item') AS view_item,
       bool_or(event_name = 'add_to_cart') AS add_to_cart, bool_or(event_name = 'begin_checkout') AS begin_checkout,
       bool_or(event_name = 'purchase') AS purchase
FROM ev WHERE session_key IS NOT NULL GROUP BY session_key;

CREATE OR REPLACE TEMP TABLE funnel AS
SELECT session_date, count(*) AS sessions, count_if(page_view) AS page_view, count_if(view_item) AS view_item,
       count_if(add_to_cart) AS add_to_cart, count_if(begin_checkout) AS begin_checkout, count_if(purchase) AS purchase
FROM sessions GROUP BY session_date;

CREATE OR REPLACE TEMP TABLE retention AS
WITH active AS (SELECT DISTINCT user_pseudo_id, event_date FROM ev),
     cohort AS (SELECT user_pseudo_id, min(event_date) AS cohort_date FROM active GROUP BY 1)
SELECT c.cohort_date, (a.event_date - c.cohort_date) AS day_n, count(*) AS users
FROM active a JOIN cohort c USING (user_pseudo_id)
WHERE a.event_date - c.cohort_date <= 30
GROUP BY 1, 2;

SELECT (SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM funnel) AS funnel_days,
       (SELECT count(*) FROM retention) AS retention_cells;
