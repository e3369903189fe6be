"""The 双随机 draw as a pure function of published data (spec "lantian-draw/1").

Nothing here touches the database or the clock: given the published candidate list, the
revealed secret and the value fixed at draw time, anyone re-derives the same selection and
the same inspector pairs. `docs/draws.md` states the same steps in prose, so a verifier can
write their own implementation (tests/server/test_draws.py does, without importing this).

1. Candidate list: a JSON document, stored and published as its canonical text (keys
   sorted, no whitespace, UTF-8, `json.dumps(sort_keys=True, separators=(",", ":"),
   ensure_ascii=False)`):
   `{"spec": "lantian-draw/1", "checklist_id": str, "sample_size": k,
     "sites": [{"site_id", "code", "enterprise_id"}…] (ascending site_id),
     "inspectors": [{"user_id", "excluded_enterprises": [ids ascending]}…] (ascending user_id)}`.
   candidate_hash = hex(SHA-256(canonical text as UTF-8)).
2. Commitment: secret = 32 bytes from os.urandom, secret_hash = hex(SHA-256(secret)).
   Both hashes are published when the draw is created; the secret stays on the server.
3. At draw time: value = 32 fresh bytes from os.urandom, plus an optional witness text
   (e.g. numbers announced by a witness present at the draw).
   seed = SHA-256(bytes(candidate_hash) ‖ secret ‖ value ‖ UTF-8(witness)), where
   bytes(h) is the 32 bytes the hex digest names. The first three parts are 32 bytes each,
   so the concatenation is unambiguous.
4. Selection: each site gets rank_s = hex(HMAC-SHA256(key=seed, msg=ASCII("site:<site_id>")));
   sites are ordered by (rank_s, site_id) and the first k are drawn, in that order.
5. Pairing, site by site in drawn order: the eligible inspectors are those whose
   `excluded_enterprises` do not hold the site's enterprise; they are ordered by
   (tasks already given in this draw, hex(HMAC-SHA256(seed, ASCII("pair:<site_id>:<user_id>"))),
   user_id) and the first two form the pair (lead first). Each gets one more task.
   Counting tasks first spreads the work evenly; the HMAC decides among equals.
6. Result: `[{"site_id": int, "inspectors": [lead, second]}…]` in drawn order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

SPEC = "lantian-draw/1"
PAIR = 2  # 执法人员不少于两人: two inspectors per task


class DrawSpecError(ValueError):
    """The published data cannot be read as a draw of this spec."""


def canonical(value: Any) -> str:
    """The one text form that is hashed and published."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def candidate_document(
    checklist_id: str,
    sample_size: int,
    sites: list[dict[str, Any]],
    inspectors: list[dict[str, Any]],
) -> dict[str, Any]:
    """The candidate list in its canonical order (step 1)."""
    return {
        "spec": SPEC,
        "checklist_id": checklist_id,
        "sample_size": sample_size,
        "sites": sorted(
            (
                {
                    "site_id": int(site["site_id"]),
                    "code": str(site["code"]),
                    "enterprise_id": int(site["enterprise_id"]),
                }
                for site in sites
            ),
            key=lambda site: site["site_id"],
        ),
        "inspectors": sorted(
            (
                {
                    "user_id": int(person["user_id"]),
                    "excluded_enterprises": sorted(
                        {int(e) for e in person["excluded_enterprises"]}
                    ),
                }
                for person in inspectors
            ),
            key=lambda person: person["user_id"],
        ),
    }


def derive_seed(candidate_hash: str, secret_hex: str, value_hex: str, witness: str) -> bytes:
    """Step 3: the seed every later choice is keyed with."""
    try:
        parts = bytes.fromhex(candidate_hash) + bytes.fromhex(secret_hex) + bytes.fromhex(value_hex)
    except ValueError as error:
        raise DrawSpecError(f"not hexadecimal: {error}") from error
    return hashlib.sha256(parts + witness.encode("utf-8")).digest()


def _rank(seed: bytes, message: str) -> str:
    return hmac.new(seed, message.encode("ascii"), hashlib.sha256).hexdigest()


def select_and_pair(document: dict[str, Any], seed: bytes) -> list[dict[str, Any]]:
    """Steps 4 and 5: the drawn sites in order, each with its pair of inspectors.

    DrawSpecError when a drawn site has fewer than two eligible inspectors (creation
    refuses such a candidate list, so a stored draw never has one).
    """
    try:
        sites = document["sites"]
        inspectors = document["inspectors"]
        size = int(document["sample_size"])
    except (KeyError, TypeError, ValueError) as error:
        raise DrawSpecError(f"not a candidate list: {error!r}") from error
    ordered = sorted(
        sites, key=lambda site: (_rank(seed, f"site:{site['site_id']}"), site["site_id"])
    )
    load = {person["user_id"]: 0 for person in inspectors}
    result = []
    for site in ordered[:size]:
        eligible = [
            person["user_id"]
            for person in inspectors
            if site["enterprise_id"] not in person["excluded_enterprises"]
        ]
        if len(eligible) < PAIR:
            raise DrawSpecError(f"site {site['site_id']}: fewer than {PAIR} eligible inspectors")
        eligible.sort(
            key=lambda user_id: (
                load[user_id],
                _rank(seed, f"pair:{site['site_id']}:{user_id}"),
                user_id,
            )
        )
        pair = eligible[:PAIR]
        for user_id in pair:
            load[user_id] += 1
        result.append({"site_id": site["site_id"], "inspectors": pair})
    return result


@dataclass(frozen=True)
class Published:
    """What a draw publishes: hashes at creation; the rest once it is issued."""

    candidates: str  # the canonical text of the candidate list
    candidate_hash: str
    secret_hash: str
    secret: str | None
    value: str | None
    witness: str
    seed: str | None
    result: list[dict[str, Any]] | None


def verify(published: Published) -> list[str]:
    """Re-derive the draw from what it published; the differences, or [] when it holds."""
    problems: list[str] = []
    actual_hash = sha256_hex(published.candidates.encode("utf-8"))
    if actual_hash != published.candidate_hash:
        problems.append(
            f"candidate list: hashes to {actual_hash}, published candidate_hash is "
            f"{published.candidate_hash}"
        )
    if published.secret is None or published.value is None:
        problems.append("secret or draw value not revealed: the draw is not issued")
        return problems
    try:
        secret_hash = sha256_hex(bytes.fromhex(published.secret))
    except ValueError:
        secret_hash = "(not hexadecimal)"
    if secret_hash != published.secret_hash:
        problems.append(
            f"secret: hashes to {secret_hash}, published secret_hash is {published.secret_hash}"
        )
    try:
        document = json.loads(published.candidates)
        # The seed is derived from the published hash: the commitment made before the draw.
        seed = derive_seed(
            published.candidate_hash, published.secret, published.value, published.witness
        )
        expected = select_and_pair(document, seed)
    except (ValueError, DrawSpecError) as error:
        problems.append(f"cannot re-derive the draw: {error}")
        return problems
    if published.seed != seed.hex():
        problems.append(f"seed: re-derived {seed.hex()}, published {published.seed}")
    stored = published.result or []
    if stored != expected:
        if len(stored) != len(expected):
            problems.append(f"result: {len(stored)} tasks published, {len(expected)} re-derived")
        for index, (got, want) in enumerate(zip(stored, expected, strict=False), start=1):
            if got != want:
                problems.append(
                    f"result #{index}: published {canonical(got)}, re-derived {canonical(want)}"
                )
    return problems
