"""Shared by the draw tests: a population of construction sites, a certified pool, and an
independent implementation of the published draw spec (docs/draws.md).

`rederive` is written from the spec's prose, not imported from the server, so a server that
drifted from its own documentation fails the tests that use it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flask.testing import FlaskClient

from server.extensions import db
from server.models import User
from server.services import accounts, inspectors
from server.services.credit_code import make_credit_code
from server.services.registry import save_enterprise, save_site
from tests.helpers import PASSWORD

DUE = "2026-12-31"


def construction_population(
    count: int = 10, enterprises: int = 3, kind: str = "construction"
) -> list[Any]:
    """`count` sites of `kind` (construction sites) in 朔州 over `enterprises` new enterprises."""
    made = [
        save_enterprise(
            {
                "credit_code": make_credit_code(f"91140600MA0DR{index:04d}"),
                "name": f"朔州抽查建设{index}有限公司",
                "city": "朔州",
                "district": "朔城区",
                "industry": "建筑",
            }
        )
        for index in range(enterprises)
    ]
    sites = []
    for index in range(count):
        enterprise = made[index % enterprises]
        sites.append(
            save_site(
                enterprise,
                {
                    "code": f"SZ-DRAW-{index:03d}",
                    "name": f"抽查工地{index}",
                    "kind": kind,
                    "address": "测试路",
                    "lat": 39.33,
                    "lon": 112.43,
                    "radius_m": 300.0,
                    "active": True,
                },
            )
        )
    db.session.commit()
    return sites


def certified_pool(users: dict[str, User], extra: int = 2) -> list[User]:
    """Certify the two fixture inspectors and `extra` more; returns them all."""
    pool = [users["inspector"], users["inspector2"]]
    for index in range(extra):
        pool.append(accounts.add_user(f"insp_d{index}", "inspector", PASSWORD))
    db.session.flush()
    for index, user in enumerate(pool):
        inspectors.certify(user.username, f"晋执{index:05d}")
    db.session.commit()
    return pool


def draw_and_issue(client: FlaskClient, supervisor: dict[str, str], made: dict[str, Any]) -> int:
    """Draw a created draw (confirming its candidate hash) and issue it (confirming the seed)."""
    base = f"/api/v1/draws/{made['id']}"
    drawn = client.post(
        f"{base}/draw", json={"candidate_hash": made["candidate_hash"]}, headers=supervisor
    )
    assert drawn.status_code == 200, drawn.get_json()
    issued = client.post(
        f"{base}/issue", json={"seed": drawn.get_json()["seed"]}, headers=supervisor
    )
    assert issued.status_code == 200, issued.get_json()
    return int(made["id"])


def rederive(published: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Seed (hex) and result from a published record, by the spec alone."""
    text = published["candidates"]
    assert hashlib.sha256(text.encode()).hexdigest() == published["candidate_hash"]
    assert (
        hashlib.sha256(bytes.fromhex(published["secret"])).hexdigest() == (published["secret_hash"])
    )
    seed = hashlib.sha256(
        bytes.fromhex(published["candidate_hash"])
        + bytes.fromhex(published["secret"])
        + bytes.fromhex(published["value"])
        + published["witness"].encode()
    ).digest()

    def mac(message: str) -> str:
        return hmac.new(seed, message.encode(), "sha256").hexdigest()

    doc = json.loads(text)
    sites = sorted(doc["sites"], key=lambda s: (mac(f"site:{s['site_id']}"), s["site_id"]))
    given: dict[int, int] = {p["user_id"]: 0 for p in doc["inspectors"]}
    result = []
    for site in sites[: doc["sample_size"]]:
        free = [
            p["user_id"]
            for p in doc["inspectors"]
            if site["enterprise_id"] not in p["excluded_enterprises"]
        ]
        free.sort(key=lambda u: (given[u], mac(f"pair:{site['site_id']}:{u}"), u))
        for user_id in free[:2]:
            given[user_id] += 1
        result.append({"site_id": site["site_id"], "inspectors": free[:2]})
    return seed.hex(), result
