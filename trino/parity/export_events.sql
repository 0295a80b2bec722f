-- dbt-ga4 stg_ga4__events (docs/semantics.md#event-cleaning) *before* its de-duplication, written
-- independently of the Spark gold code: the lake's raw export rows (bronze.events) whose export shard
-- date is in [{start}, {end}] (dbt-ga4 filters on the table suffix the same way), with dbt-ga4's
-- cleaned event name, keys (docs/semantics.md#keys), click-id exclusion (docs/semantics.md#url-cleaning)
-- and gclid rule (docs/semantics.md#gclid-rule). parity.py prepends it to every query in reference/
-- as the relation `export_events`.
--
-- Why duplicates are still here: dbt-ga4 keeps one row per group of (event_date_dt, stream_id,
-- user_pseudo_id, session_id, event_name, event_timestamp, event_params sorted by key)
-- (docs/semantics.md#de-duplication). Every column below is one of those or a function of them, so a
-- duplicate agrees with its survivor on all
-- of them. Removing duplicates therefore changes only counts of *rows*; every count of distinct keys
-- or key tuples, and every first-by-timestamp choice, is the same with or without them. Only
-- reference/stg_ga4__events.sql counts rows, and it de-duplicates exactly; all other references read
-- this relation as is, which keeps each of them to one scan of bronze (a de-duplicated copy of
-- 4.3 M rows does not fit Trino's per-query memory on a small machine).
WITH export_rows AS (
    SELECT
        try(CAST(date_parse(event_date, '%Y%m%d') AS date)) AS event_date_dt,
        CAST(stream_id AS varchar) AS stream_id,
        user_pseudo_id,
        element_at(filter(event_params, p -> p.key = 'ga_session_id'), 1).value.int_value AS session_id,
        lower(replace(trim(event_name), ' ', '_')) AS event_name,
        event_timestamp,
        event_params,
        element_at(filter(event_params, p -> p.key = 'page_location'), 1).value.string_value
            AS original_page_location,
        lower(element_at(filter(event_params, p -> p.key = 'source'), 1).value.string_value) AS source_param,
        lower(element_at(filter(event_params, p -> p.key = 'medium'), 1).value.string_value) AS medium_param,
        lower(element_at(filter(event_params, p -> p.key = 'campaign'), 1).value.string_value) AS campaign_param,
        -- the value checks (docs/semantics.md#transactions, docs/semantics.md#engaged-sessions)
        coalesce(
            ecommerce.transaction_id,
            element_at(filter(event_params, p -> p.key = 'transaction_id'), 1).value.string_value
        ) AS transaction_id,
        ecommerce.purchase_revenue_in_usd AS purchase_revenue_in_usd,
        items,
        coalesce(
            element_at(filter(event_params, p -> p.key = 'session_engaged'), 1).value.int_value,
            IF(element_at(filter(event_params, p -> p.key = 'session_engaged'), 1).value.string_value = '1', 1)
        ) AS session_engaged
    FROM bronze.events
    WHERE _shard_date BETWEEN DATE '{start}' AND DATE '{end}'
),

keyed AS (
    SELECT
        *,
        to_base64(md5(to_utf8(user_pseudo_id || stream_id))) AS client_key,
        coalesce(strpos(original_page_location, 'gclid') > 0, false) AS has_gclid
    FROM export_rows
)

SELECT
    event_date_dt,
    stream_id,
    user_pseudo_id,
    session_id,
    event_name,
    event_timestamp,
    event_params,
    transaction_id,
    purchase_revenue_in_usd,
    items,
    session_engaged,
    client_key,
    to_base64(md5(to_utf8(client_key || CAST(session_id AS varchar)))) AS session_key,
    to_base64(md5(to_utf8(client_key || CAST(session_id AS varchar)))) || CAST(event_date_dt AS varchar)
        AS session_partition_key,
    -- dbt-ga4 var query_parameter_exclusions set to ga4lake.yml's urls.strip_query_params (default the
    -- click-id list, docs/configuration.md): one delimiter plus name=value is removed per occurrence, or
    -- the whole query string for `all` (docs/semantics.md#url-cleaning). parity.py renders the expression
    -- from the validated names, e.g. regexp_replace(original_page_location, '[&#?|](?:gclid|…)=[^?&#]*', '')
    {page_location_cleaned} AS page_location,
    -- detect_gclid (docs/semantics.md#gclid-rule), on the original URL
    IF(has_gclid AND source_param IS NULL, 'google', source_param) AS event_source,
    IF(has_gclid AND (medium_param IS NULL OR medium_param = 'organic'), 'cpc', medium_param) AS event_medium,
    IF(
        has_gclid AND (campaign_param IS NULL OR campaign_param IN ('organic', '(organic)')), '(cpc)', campaign_param
    ) AS event_campaign
FROM keyed
