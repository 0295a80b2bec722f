"""Clients of the stack's services: the bottom layer every other package builds on.

One module per service the pipeline talks to: Nessie (:mod:`.nessie`), the S3 object store (:mod:`.s3`),
Spark and its Iceberg catalogs (:mod:`.spark`), pyiceberg for metadata reads without a JVM
(:mod:`.iceberg`), Trino (:mod:`.trino`), PostgreSQL (:mod:`.postgres`), and
the secrets the stack generates for itself (:mod:`.secrets`). A client knows how to reach its service from
:class:`ga4lake.config.Settings`; it knows nothing of loads, layers or how the services are started, so
``stack/`` (which starts them) and ``lake/``, ``gold/``, ``validate/``, ``load/`` (which use them) all import
from here and never from each other's internals. Allowed imports: the standard library, third-party
client libraries, :mod:`ga4lake.config`, :mod:`ga4lake.errors`, :mod:`ga4lake.versions`,
:mod:`ga4lake.sqlident` and :mod:`ga4lake.log` (tests/unit/test_layers.py checks).
"""
