"""ga4lake: a tested lakehouse for Google Analytics 4 BigQuery exports."""

__version__ = "0.1.0"
