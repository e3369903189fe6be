"""The sync button: the CLI's push and pull in a background thread, with progress to poll.

One sync at a time per app; the thread opens its own store connection (SQLite connections
stay in the thread that made them) and reports through a lock-guarded snapshot.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from field_client import credentials, sync
from field_client.api import SyncApi
from field_client.errors import FieldError
from field_client.store import Store, now_iso


@dataclass
class SyncState:
    running: bool = False
    inspections_total: int = 0
    inspections_done: int = 0
    photos_total: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    synced: list[str] = field(default_factory=list)
    photos_sent: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    returned: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    error: str | None = None
    finished_at: str | None = None


class Syncer:
    """Runs at most one sync of the device's data directory at a time."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._state = SyncState()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._state)

    def start(self) -> bool:
        """Start a sync unless one is running; False if one was."""
        with self._lock:
            if self._state.running:
                return False
            self._state = SyncState(running=True)
        self._thread = threading.Thread(target=self._run, name="field-sync", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, kind: str, amount: int) -> None:
        with self._lock:
            if kind == "bytes":
                self._state.bytes_done += amount
            else:
                self._state.inspections_done += amount

    def _run(self) -> None:
        store = Store(self.home)
        pushed, pulled = sync.PushReport(), sync.PullReport()
        error = None
        try:
            before = sync.outbox_size(store)
            with self._lock:
                self._state.inspections_total = before["inspections"]
                self._state.photos_total = before["photos"]
                self._state.bytes_total = before["photo_bytes"]
            saved = credentials.load(self.home)
            api = SyncApi(saved["server"], saved["token"])
            try:
                sync.push(store, api, self._progress, pushed)
                sync.pull_outcomes(store, api, pulled)
            finally:
                api.close()
            if sync.outbox_size(store)["inspections"] == 0:
                with store.transaction() as db:
                    store.set_meta("last_sync", now_iso(), db)
        except FieldError as failure:
            error = str(failure)
        except Exception as failure:  # the thread must always report its end
            error = f"同步失败 / sync failed: {failure}"
        finally:
            store.close()
            with self._lock:
                self._state.running = False
                self._state.synced = pushed.synced
                self._state.photos_sent = pushed.photos_sent
                self._state.refused = pushed.refused
                self._state.returned = pulled.returned
                self._state.approved = pulled.approved
                self._state.error = error
                self._state.finished_at = now_iso()
