-- dbt-ga4 base_ga4__events / stg_ga4__events: export rows after the 7-column de-duplication
-- (docs/semantics.md#de-duplication, docs/semantics.md#row-count-parity).
-- Exact without holding 4.3 M rows in one hash table: a 64-bit hash of the six scalar group columns
-- finds the candidate groups (every real duplicate group is among them; a collision only adds
-- candidates), and only the candidates are compared on all seven columns, event_params sorted by key.
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

SELECT (SELECT count(*) FROM export_events) - (SELECT duplicate_rows FROM dropped) AS reference_rows
