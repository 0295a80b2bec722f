"""GA4 BigQuery export sample generator and export readers.

``ga4lake sample`` writes a deterministic, statistically realistic copy of the shape of Google's
public obfuscated GA4 sample (``ga4_obfuscated_sample_ecommerce``); ``read_export`` reads real or
generated export files (Parquet, Avro, NDJSON) into one Arrow schema. See docs/sample.md.
"""

from .cli import main, register
from .readers import ExportReadError, read_export
from .schema import DRIFT_SCHEMA, EXPORT_SCHEMA

__all__ = ["DRIFT_SCHEMA", "EXPORT_SCHEMA", "ExportReadError", "main", "read_export", "register"]
