"""State a server process keeps per Flask app (its caches), built when first needed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")
_LOCK = threading.Lock()


def per_app(key: str, build: Callable[[], T]) -> T:
    """`app.extensions[key]` of the current app, made by `build` the first time.

    Per app, not per module, because tests run several apps, each on its own database; under
    one lock, so that the threads of a worker that start at once share one value.
    """
    with _LOCK:
        value = current_app.extensions.get(key)
        if value is None:
            value = build()
            current_app.extensions[key] = value
        return value
