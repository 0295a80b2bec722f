-- The federated parity query for one model: its reference row count, computed by Trino from the
-- lake (catalog iceberg, or the lake branch's catalog), next to the matching gold table's row count in
-- PostgreSQL (catalog postgresql), in one statement. parity.py fills the five placeholders below with
-- export_events.sql, reference/<model>.sql, gold/<table>.sql and the two names; those files carry the
-- start / end / pg_schema placeholders (never put a placeholder in a comment here: it is filled too).
WITH export_events AS (
{export_events}
),

reference AS (
{reference}
),

gold AS (
{gold}
)

SELECT
    '{model}' AS model,
    '{gold_table}' AS gold_table,
    reference.reference_rows,
    gold.gold_rows
FROM reference
CROSS JOIN gold
