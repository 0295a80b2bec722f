-- ga4lake rule for fact_items (dbt-ga4 stg_ga4__event_items: the items record unnested): one row per
-- element of `items` of every event after the 7-column de-duplication (docs/semantics.md#de-duplication),
-- for the export shards in the range. Counted like stg_ga4__events.sql, without a de-duplicated copy:
-- all elements of all rows, minus the elements of the copies dbt-ga4 drops (a duplicate is the same
-- event sent again, so each extra copy carries the group's items once more).
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
    WHERE cardinality(items) > 0
),

candidate_hashes AS (
    SELECT group_hash
    FROM hashed
    GROUP BY group_hash
    HAVING count(*) > 1
),

duplicate_groups AS (
    SELECT count(*) AS copies, max(cardinality(items)) AS items_per_copy
    FROM hashed
    WHERE group_hash IN (SELECT group_hash FROM candidate_hashes)
    GROUP BY
        event_date_dt, stream_id, user_pseudo_id, session_id, event_name, event_timestamp,
        array_sort(event_params, (a, b) -> IF(a.key < b.key, -1, IF(a.key > b.key, 1, 0)))
)

SELECT
    (SELECT coalesce(sum(cardinality(items)), 0) FROM hashed)
    - (SELECT coalesce(sum((copies - 1) * items_per_copy), 0) FROM duplicate_groups)
    AS reference_rows
