"""The project's one S3 client factory (boto3), for the stack's own object store or any S3 the settings name.

Path-style addressing follows ``settings.s3_path_style`` (SeaweedFS and MinIO want it); empty keys mean
boto3's own credential chain (an instance role on AWS). Retries: 5 attempts, so a restarting S3 server
costs a pause, not a failed load.
"""

from __future__ import annotations

from typing import Any

from ga4lake.config import Settings


def s3_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key or None,
        aws_secret_access_key=settings.s3_secret_key or None,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path" if settings.s3_path_style else "auto"}, retries={"max_attempts": 5}
        ),
    )
