-- Value check. dbt-ga4 fct_ga4__pages.page_views: page_view events after the 7-column de-duplication
-- (docs/semantics.md#pages, docs/semantics.md#de-duplication), counted exactly the way
-- stg_ga4__events.sql counts every event (candidates by a 64-bit hash, then compared on all columns),
-- dated in the range (export_events reaches one day back for the session checks).
WITH hashed AS (
    SELECT
        *,
        xxhash64(to_utf8(concat_ws(
            '|',
            coalesce(CAST(event_date_dt AS varchar), '~'),
            coalesce(stream_id, '~'),
            coalesce(user_pseudo_id, '~'),
            coalesce(CAST(session_id AS varchar), '~'),
            coalesce(event_name, '~'),
            coalesce(CAST(event_timestamp AS varchar), '~')
        ))) AS group_hash
    FROM export_events
    WHERE event_name = 'page_view' AND event_date_dt BETWEEN DATE '{start}' AND DATE '{end}'
),

candidate_hashes AS (
    SELECT group_hash
    FROM hashed
    GROUP BY group_hash
    HAVING count(*) > 1
),

candidates AS (
    SELECT
        event_date_dt,
        stream_id,
        user_pseudo_id,
        session_id,
        event_name,
        event_timestamp,
        array_sort(event_params, (a, b) -> IF(a.key < b.key, -1, IF(a.key > b.key, 1, 0))) AS sorted_params
    FROM hashed
    WHERE group_hash IN (SELECT group_hash FROM candidate_hashes)
),

dropped AS (
    -- rows minus distinct groups among the candidates = duplicates dbt-ga4 drops
    SELECT count(*) - count(DISTINCT ROW(
        event_date_dt, stream_id, user_pseudo_id, session_id, event_name, event_timestamp, sorted_params
    )) AS duplicate_rows
    FROM candidates
)

SELECT (
    SELECT count(*) FROM export_events
    WHERE event_name = 'page_view' AND event_date_dt BETWEEN DATE '{start}' AND DATE '{end}'
) - (SELECT duplicate_rows FROM dropped)
    AS reference_rows
