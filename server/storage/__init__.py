"""Photo blob stores behind one interface: a local directory (default) or S3-compatible."""

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from server.storage.base import OffsetMismatch, PhotoStore, check_hash
from server.storage.local import LocalPhotoStore

__all__ = [
    "LocalPhotoStore",
    "OffsetMismatch",
    "PhotoStore",
    "check_hash",
    "init_store",
    "make_store",
    "photo_store",
]

STORE_KINDS = ("local", "s3")


def make_store(config: Mapping[str, Any]) -> PhotoStore:
    """The store the configuration names; a wrong setting stops the server at start-up.

    Failing here, rather than on the first upload, means a misconfigured worker never
    joins the load balancer. boto3 is imported only for S3, so the default pays nothing.
    """
    kind = config.get("PHOTO_STORE") or "local"
    if kind == "local":
        return LocalPhotoStore(config["PHOTO_DIR"])
    if kind == "s3":
        if not config.get("S3_BUCKET"):
            raise RuntimeError(
                "LANTIAN_PHOTO_STORE=s3 需要设置 LANTIAN_S3_BUCKET / "
                "LANTIAN_PHOTO_STORE=s3 needs LANTIAN_S3_BUCKET"
            )
        from server.storage.s3 import S3PhotoStore

        return S3PhotoStore(
            config["S3_BUCKET"],
            prefix=config.get("S3_PREFIX"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            addressing_style=config.get("S3_ADDRESSING_STYLE"),
        )
    raise RuntimeError(
        f"LANTIAN_PHOTO_STORE 须为 {' 或 '.join(STORE_KINDS)} / "
        f"LANTIAN_PHOTO_STORE must be one of {', '.join(STORE_KINDS)}, not {kind!r}"
    )


def init_store(app: Flask) -> None:
    """Bind the configured store to the app."""
    app.extensions["photo_store"] = make_store(app.config)


def photo_store() -> PhotoStore:
    """The current app's photo store."""
    return current_app.extensions["photo_store"]
