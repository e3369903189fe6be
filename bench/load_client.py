"""The simulated inspector of `bench/load_test.py`: a bounded HTTP client, one thread each.

Each inspector does what the field client does on a sync, through the public API only:
logs in once, pulls checklists and sites, then repeatedly makes an inspection offline
(answers drawn at random, judged with the very rules the server uses so that it knows
which items need photo evidence and how many findings to expect), asks for each photo
(HEAD), uploads it (PUT), and PUTs the inspection. Now and then it resends an inspection
it has already been told is stored, or sends a request twice at the same moment as a
retry after a timeout would: both must be harmless.

Everything the server acknowledged is written down in a `Ledger`, so that the database
can be checked afterwards against what the clients were told is stored.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image, ImageDraw

import checklists as rules
from checklists.evaluate import served_items
from checklists.governance import load_governance
from checklists.scope import Scope, limit_in_force

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_PHOTOS_PER_INSPECTION = 4
# Request kinds, in the order the report lists them.
KINDS = (
    "login",
    "pull checklists",
    "pull checklist",
    "pull sites",
    "photo HEAD",
    "photo PUT",
    "photo PUT (retry race)",
    "inspection PUT",
    "inspection PUT (resend)",
    "inspection PUT (retry race)",
)
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{64}")


@dataclass
class Mix:
    """How often the out-of-the-ordinary requests happen (fractions of inspections/photos)."""

    resend: float = 0.10  # an acknowledged inspection sent again, sequentially
    race_inspection: float = 0.05  # the inspection PUT sent twice at the same moment
    race_photo: float = 0.03  # a photo PUT sent twice at the same moment
    think: float = 1.0  # mean pause between one inspector's inspections, seconds


class Recorder:
    """Latencies per request kind and every error, shared by all inspector threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        # (monotonic time the response ended, kind): throughput over any window afterwards.
        self.finished: list[tuple[float, str]] = []
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.bytes_sent = 0
        self.photo_sizes: list[int] = []

    def latency(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.latencies[kind].append(seconds)
            self.finished.append((time.monotonic(), kind))

    def error(self, kind: str, message: str) -> None:
        """Group errors by their text with ids and hashes masked, keep one full example."""
        key = f"{kind}: {_VOLATILE.sub('<id>', message)[:400]}"
        with self._lock:
            self.errors[key] += 1
            self.examples.setdefault(key, message[:2000])

    def photo(self, size: int) -> None:
        with self._lock:
            self.photo_sizes.append(size)


@dataclass
class Acknowledged:
    """One inspection the server said it stored, with what the database must then hold."""

    answers: int
    answer_photos: int
    findings: int
    photos: tuple[str, ...]


@dataclass
class Ledger:
    """What the server acknowledged to this inspector (merged across inspectors at the end)."""

    inspections: dict[str, Acknowledged] = field(default_factory=dict)
    photos: set[str] = field(default_factory=set)
    photo_bytes: int = 0


@dataclass
class Site:
    id: int
    kind: str
    city: str
    lat: float
    lon: float


@dataclass
class Draft:
    """An inspection made offline, ready to sync, with what its acknowledgement implies."""

    uuid: str
    body: dict[str, Any]
    photos: dict[str, bytes]
    findings: int
    answer_photos: int


class Inspector:
    """One simulated inspector; `run` is the body of its thread."""

    def __init__(
        self,
        number: int,
        base_url: str,
        username: str,
        password: str,
        recorder: Recorder,
        deadline: float,
        mix: Mix,
        twins: ThreadPoolExecutor,
        timeout: float = 60.0,
    ) -> None:
        self.number = number
        self.base_url = base_url
        self.username = username
        self.password = password
        self.recorder = recorder
        self.deadline = deadline
        self.mix = mix
        self.twins = twins
        self.timeout = timeout
        self.rng = random.Random(number)
        self.ledger = Ledger()
        self.token = ""
        self.sites: list[Site] = []
        self.checklists: dict[str, rules.Checklist] = {}
        self.pairs: list[tuple[Site, rules.Checklist]] = []
        self._base_image: Image.Image | None = None
        self._photo_serial = 0

    # ---- HTTP -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(
        self,
        http: httpx.Client,
        kind: str,
        method: str,
        url: str,
        expect: tuple[int, ...],
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One timed request; a status outside `expect` or a transport error is an error."""
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            self.recorder.latency(kind, time.perf_counter() - started)
            self.recorder.error(kind, f"{type(error).__name__}: {error}")
            return None
        self.recorder.latency(kind, time.perf_counter() - started)
        if response.status_code not in expect:
            self.recorder.error(
                kind,
                f"HTTP {response.status_code} on {method} {url} (expected "
                f"{'/'.join(map(str, expect))}): {response.text[:600]}",
            )
            return None
        return response

    def race(
        self, http: httpx.Client, kind: str, method: str, url: str, **kwargs: Any
    ) -> list[httpx.Response]:
        """The same request twice at once, the second on a new connection (a client retry
        after a timeout while the first is still being served). Exactly one may create."""

        def twin() -> httpx.Response | None:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout) as other:
                return self.call(other, kind, method, url, (200, 201), **dict(kwargs))

        future = self.twins.submit(twin)
        first = self.call(http, kind, method, url, (200, 201), **dict(kwargs))
        second = future.result()
        responses = [r for r in (first, second) if r is not None]
        statuses = sorted(r.status_code for r in responses)
        if len(responses) == 2 and statuses != [200, 201]:
            self.recorder.error(
                kind, f"two simultaneous {method}s answered {statuses}, expected one 201 + one 200"
            )
        return responses

    # ---- the session ------------------------------------------------------------------

    def run(self) -> None:
        """The thread's body: a bug in this client is counted as an error, never lost."""
        try:
            self.session()
        except Exception:
            self.recorder.error("client", traceback.format_exc())

    def session(self) -> None:
        """Log in, pull, then sync inspections until the deadline."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=self.base_url, timeout=self.timeout, limits=limits) as http:
            if not self.login(http) or not self.pull(http):
                return
            while time.monotonic() < self.deadline:
                draft = self.draft()
                self.sync(http, draft)
                pause = self.rng.uniform(0, 2 * self.mix.think)
                time.sleep(max(0.0, min(pause, self.deadline - time.monotonic())))

    def login(self, http: httpx.Client) -> bool:
        response = self.call(
            http,
            "login",
            "POST",
            "/api/v1/auth/token",
            (200,),
            json={"username": self.username, "password": self.password},
        )
        if response is None:
            return False
        self.token = response.json()["token"]
        return True

    def pull(self, http: httpx.Client) -> bool:
        """Checklists (each parsed with the shared rules) and the sites feed, page by page."""
        listing = self.call(http, "pull checklists", "GET", "/api/v1/checklists", (200,))
        if listing is None:
            return False
        for summary in listing.json():
            response = self.call(
                http, "pull checklist", "GET", f"/api/v1/checklists/{summary['id']}", (200,)
            )
            if response is None:
                return False
            # As the field client does: the version is the hash of the rest minus the
            # plan texts, which are served alongside.
            content = response.json()
            version = content.pop("version")
            content.pop("sources", None)
            checklist = rules.parse_checklist(content, summary["id"])
            if checklist.version != version:
                self.recorder.error(
                    "pull checklist", f"{summary['id']} does not hash to its version"
                )
                return False
            self.checklists[checklist.id] = checklist
        cursor = ""
        while True:
            page = self.call(
                http, "pull sites", "GET", "/api/v1/sites", (200,), params={"since": cursor}
            )
            if page is None:
                return False
            data = page.json()
            for item in data["items"]:
                if item["active"]:
                    self.sites.append(
                        Site(item["id"], item["kind"], item["city"], item["lat"], item["lon"])
                    )
            cursor = data["cursor"]
            if not data["has_more"]:
                break
        self.pairs = [
            (site, checklist)
            for site in self.sites
            for checklist in self.checklists.values()
            if site.kind in checklist.site_kinds
        ]
        if not self.pairs:
            self.recorder.error("pull sites", f"{self.username} sees no site to inspect")
            return False
        return True

    # ---- making an inspection offline ---------------------------------------------------

    def _value(self, item: rules.Item, city: str, on: date) -> Any:
        """A plausible answer: mostly compliant, sometimes failing, sometimes not applicable."""
        roll = self.rng.random()
        if item.answer_type is rules.AnswerType.CHECK:
            if roll < 0.75:
                return "compliant"
            return "non_compliant" if roll < 0.9 else "not_applicable"
        if item.answer_type is rules.AnswerType.CHOICE:
            return self.rng.choice(item.options).value
        if item.answer_type is rules.AnswerType.TEXT:
            return f"现场记录 / noted on site #{self.rng.randrange(1000)}"
        limit = limit_in_force(item, Scope.of(load_governance(), city, on))
        fail = roll < 0.15
        if limit is not None and limit.max is not None:
            factor = self.rng.uniform(1.05, 1.6) if fail else self.rng.uniform(0.3, 1.0)
            return round(float(limit.max) * factor, 1)
        if limit is not None and limit.min is not None:
            factor = self.rng.uniform(0.4, 0.95) if fail else self.rng.uniform(1.0, 2.0)
            return round(float(limit.min) * factor, 1)
        if limit is not None and limit.above is not None:
            factor = self.rng.uniform(0.3, 1.0) if fail else self.rng.uniform(1.1, 2.0)
            return round(float(limit.above) * factor, 1)
        return round(10 ** self.rng.uniform(0, 4.3), 1)  # a measurement with no limit

    def _photo(self, label: str, taken: datetime, site: Site) -> bytes:
        """A small, distinct, decodable JPEG with capture time and GPS in its EXIF.

        Noise keeps JPEG from compressing it to nothing (50–200 kB at these qualities);
        the marks and label make every photo a different image, not only different bytes.
        """
        if self._base_image is None:
            self._base_image = Image.merge(
                "RGB", [Image.effect_noise((640, 480), 20) for _ in range(3)]
            )
        image = self._base_image.copy()
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = self.rng.randrange(560), self.rng.randrange(400)
            colour = tuple(self.rng.randrange(256) for _ in range(3))
            draw.rectangle((x, y, x + self.rng.randrange(20, 80), y + 40), fill=colour)
        draw.text((8, 8), label, fill=(255, 255, 255))
        exif = Image.Exif()
        exif[0x010E] = label  # ImageDescription
        local = taken.astimezone(LOCAL_ZONE)
        exif.get_ifd(0x8769)[36867] = local.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[36881] = "+08:00"
        gps = exif.get_ifd(0x8825)
        gps[1], gps[3] = "N", "E"
        gps[2] = _dms(site.lat + self.rng.uniform(-0.001, 0.001))
        gps[4] = _dms(site.lon + self.rng.uniform(-0.001, 0.001))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=self.rng.randrange(62, 93), exif=exif)
        return out.getvalue()

    def draft(self) -> Draft:
        """An inspection of a random site with a checklist that applies to it."""
        site, checklist = self.rng.choice(self.pairs)
        started = datetime.now(UTC) - timedelta(minutes=self.rng.randrange(45, 600))
        on = started.astimezone(LOCAL_ZONE).date()
        values: dict[str, Any] = {}
        scope = Scope.of(load_governance(), site.city, on)
        served = {served.code for served in served_items(checklist, scope)}
        for item in checklist.items:
            if item.code not in served:
                continue  # no plan in force for this site says it: the server would refuse it
            if item.condition is not None:
                # Conditions name earlier items only, so what is answered so far decides.
                state = rules.evaluate_all(checklist, values, scope)[item.code]
                if state.applicable is False:
                    continue
            values[item.code] = self._value(item, site.city, on)
        results = rules.evaluate_all(checklist, values, scope)
        needing = [code for code in values if results[code].needs_photo]
        count = min(max(len(needing), 1), MAX_PHOTOS_PER_INSPECTION)
        inspection_id = str(uuid.uuid4())
        photos: dict[str, bytes] = {}
        for index in range(count):
            self._photo_serial += 1
            label = f"{self.username} {inspection_id[:8]} #{index + 1} ({self._photo_serial})"
            data = self._photo(label, started + timedelta(minutes=5 + index), site)
            photos[hashlib.sha256(data).hexdigest()] = data
        hashes = list(photos)
        # Items the evidence rule covers cite a photo each (shared when there are many);
        # with none, the first answer carries one, as an inspector's overview shot.
        cited: dict[str, list[str]] = {code: [] for code in values}
        for index, code in enumerate(needing or [next(iter(values))]):
            cited[code].append(hashes[index % count])
        answers = [
            {
                "item": code,
                "value": value,
                "note": "" if self.rng.random() < 0.7 else "现场照片见附件 / see photo",
                "photos": cited[code],
            }
            for code, value in values.items()
        ]
        body = {
            "site_id": site.id,
            "checklist_id": checklist.id,
            "checklist_version": checklist.version,
            "started_at": started.isoformat(),
            "finished_at": (started + timedelta(minutes=40)).isoformat(),
            "device_time": (started + timedelta(minutes=41)).isoformat(),
            "location": {
                "lat": round(site.lat + self.rng.uniform(-0.001, 0.001), 6),
                "lon": round(site.lon + self.rng.uniform(-0.001, 0.001), 6),
                "accuracy_m": round(self.rng.uniform(3, 30), 1),
            },
            "answers": answers,
        }
        failing = sum(1 for code in values if results[code].verdict is rules.Verdict.NON_COMPLIANT)
        return Draft(
            uuid=inspection_id,
            body=body,
            photos=photos,
            findings=failing,
            answer_photos=sum(len(set(a["photos"])) for a in answers),
        )

    # ---- syncing it ---------------------------------------------------------------------

    def _send_photo(self, http: httpx.Client, sha: str, data: bytes) -> bool:
        """Ask first, then upload what the server lacks, as the field client does."""
        url = f"/api/v1/photos/{sha}"
        if self.call(http, "photo HEAD", "HEAD", url, (404,)) is None:
            return False
        headers = {"Content-Type": "image/jpeg"}
        if self.rng.random() < self.mix.race_photo:
            responses = self.race(
                http, "photo PUT (retry race)", "PUT", url, content=data, headers=headers
            )
        else:
            response = self.call(
                http, "photo PUT", "PUT", url, (201,), content=data, headers=headers
            )
            responses = [response] if response is not None else []
        for response in responses:
            if response.json().get("sha256") != sha:
                self.recorder.error("photo PUT", f"acknowledged under another hash: {sha}")
                return False
        if not responses:
            return False
        self.ledger.photos.add(sha)
        self.ledger.photo_bytes += len(data)
        self.recorder.photo(len(data))
        return True

    def _check_stored(self, kind: str, draft: Draft, response: httpx.Response) -> bool:
        """The acknowledgement must describe what was sent: no photo missing, findings right."""
        stored = response.json()
        problems = []
        if stored.get("uuid") != draft.uuid or stored.get("revision") != 1:
            problems.append(f"uuid/revision {stored.get('uuid')} r{stored.get('revision')}")
        if stored.get("missing_photos"):
            problems.append(f"server lacks acknowledged photos {stored['missing_photos']}")
        if len(stored.get("answers", [])) != len(draft.body["answers"]):
            problems.append(f"{len(stored.get('answers', []))} answers stored")
        if len(stored.get("findings", [])) != draft.findings:
            problems.append(
                f"{len(stored.get('findings', []))} findings, the rules give {draft.findings}"
            )
        if problems:
            self.recorder.error(kind, f"inspection {draft.uuid}: " + "; ".join(problems))
            return False
        return True

    def sync(self, http: httpx.Client, draft: Draft) -> None:
        """Photos first, then the inspection; record what the server acknowledged."""
        for sha, data in draft.photos.items():
            if not self._send_photo(http, sha, data):
                return  # stays on the device; a real client would retry it next sync
        url = f"/api/v1/inspections/{draft.uuid}"
        if self.rng.random() < self.mix.race_inspection:
            kind = "inspection PUT (retry race)"
            responses = self.race(http, kind, "PUT", url, json=draft.body)
        else:
            kind = "inspection PUT"
            response = self.call(http, kind, "PUT", url, (201,), json=draft.body)
            responses = [response] if response is not None else []
        if not responses or not all(self._check_stored(kind, draft, r) for r in responses):
            return
        self.ledger.inspections[draft.uuid] = Acknowledged(
            answers=len(draft.body["answers"]),
            answer_photos=draft.answer_photos,
            findings=draft.findings,
            photos=tuple(draft.photos),
        )
        if self.rng.random() < self.mix.resend:
            again = self.call(http, "inspection PUT (resend)", "PUT", url, (200,), json=draft.body)
            if again is not None:
                self._check_stored("inspection PUT (resend)", draft, again)
                if again.json().get("etag") != responses[0].json().get("etag"):
                    self.recorder.error("inspection PUT (resend)", "a resend changed the etag")


def _dms(degrees: float) -> tuple[float, float, float]:
    """Decimal degrees as EXIF degrees, minutes, seconds."""
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    return (float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 2))
