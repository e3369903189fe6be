"""Photo blob stores behind one interface (local directory by default)."""

from flask import Flask, current_app

from server.storage.base import OffsetMismatch, PhotoStore, check_hash
from server.storage.local import LocalPhotoStore

__all__ = [
    "LocalPhotoStore",
    "OffsetMismatch",
    "PhotoStore",
    "check_hash",
    "init_store",
    "photo_store",
]


def init_store(app: Flask) -> None:
    """Bind the configured store to the app."""
    app.extensions["photo_store"] = LocalPhotoStore(app.config["PHOTO_DIR"])


def photo_store() -> PhotoStore:
    """The current app's photo store."""
    return current_app.extensions["photo_store"]
