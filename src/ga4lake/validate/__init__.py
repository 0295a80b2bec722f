"""Validation of gold: row-count parity with dbt-ga4's logic (Trino over the lake, ``parity``), the dbt
project's tests and docs on the PostgreSQL gold tables (``dbt``), and the ``ga4lake validate`` command
(``cli.register``)."""
