"""Audit bundles: a self-contained JSON file that proves events belong, unaltered, to a signed chain.

A bundle carries, for a stretch of the tenant's chain, the full stored rows of the events it is
about and only the digests of the others, plus the signed anchors at both ends and the public key.
`verify_bundle` needs nothing but this file and the standard library (plus `cryptography` for
Ed25519): an auditor can check it offline.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.postgres import PostgresDatastore

from infra.audit import _rows, anchor, anchors, public_key_bytes, row_digest
from infra.chain import GENESIS, anchor_message, digest, link, micros

FORMAT = "shouwang-audit-bundle/1"


def _anchor_json(a: dict[str, Any]) -> dict[str, Any]:
    return {"position": a["position"], "hash": bytes(a["hash"]).hex(), "signed_at_us": a["signed_at_us"],
            "signature": bytes(a["signature"]).hex()}


def export_bundle(datastore: PostgresDatastore, tenant: str, key: Ed25519PrivateKey, *,
                  child_id: UUID | None, describe: Any) -> dict[str, Any]:
    """A bundle of one child's events (or, without `child_id`, the whole tenant log), in memory.

    `describe(row)` gives the human-readable form of an event row (decoded, personal fields as
    the exporter may see them); it is shown, not verified.
    """
    head, links, end = _stretch(datastore, tenant, key, child_id=child_id, describe=describe)
    return {**head, "links": list(links), "end": end}


def write_bundle(write: Callable[[bytes], None], datastore: PostgresDatastore, tenant: str,
                 key: Ed25519PrivateKey, *, child_id: UUID | None, describe: Any) -> dict[str, int]:
    """The same bundle as `export_bundle`, written piece by piece (one link at a time): a whole tenant's log
    never sits in memory. Returns how many links and full events it holds and the position it ends at."""
    head, links, end = _stretch(datastore, tenant, key, child_id=child_id, describe=describe)
    opening = json.dumps(head, ensure_ascii=False, default=str)
    write(f'{opening[:-1]}, "links": [\n'.encode())
    count = events = 0
    for item in links:
        write((",\n" if count else "").encode() + json.dumps(item, ensure_ascii=False, default=str).encode())
        count += 1
        events += "event" in item
    write(f'\n], "end": {json.dumps(end)}}}\n'.encode())
    return {"links": count, "events": events, "end_position": end["position"] if end else 0}


def _stretch(datastore: PostgresDatastore, tenant: str, key: Ed25519PrivateKey, *, child_id: UUID | None,
             describe: Any) -> tuple[dict[str, Any], Iterator[dict[str, Any]], dict[str, Any] | None]:
    """A bundle's head (format, anchors' start), its links (read lazily, in log order) and its signed end."""
    end = anchor(datastore, tenant, key)  # sign the head now, so the bundle ends at a fresh anchor
    signed = [a for a in anchors(datastore, tenant) if end is None or a["position"] <= end["position"]]
    first = None
    if child_id is not None:
        with datastore.get_connection() as conn:
            first = conn.execute(f"SELECT min(notification_id) AS p FROM t_{tenant}.events WHERE subject_id = %s",
                                 [child_id]).fetchone()["p"]
    # Start from the last anchor before the child's first event: its signed hash vouches for all before.
    start = max((a for a in signed if first is not None and a["position"] < first),
                key=lambda a: a["position"], default=None)
    head = {
        "format": FORMAT, "tenant": tenant, "child_id": str(child_id) if child_id else None,
        "exported_at": datetime.now(UTC).isoformat(), "public_key": public_key_bytes(key).hex(),
        "start": _anchor_json(start) if start else {"position": 0, "hash": GENESIS.hex()},
    }
    return head, _links(datastore, tenant, start["position"] if start else 0, end, child_id, describe), \
        _anchor_json(end) if end else None


def _links(datastore: PostgresDatastore, tenant: str, after: int, end: dict[str, Any] | None,
           child_id: UUID | None, describe: Any) -> Iterator[dict[str, Any]]:
    for row in _rows(datastore, tenant, after=after):
        if end is None or row["notification_id"] > end["position"]:
            return
        if child_id is None or row["subject_id"] == child_id:
            yield {"position": row["notification_id"], "event": {
                "originator_id": str(row["originator_id"]), "version": row["originator_version"],
                "topic": row["topic"], "state": base64.b64encode(bytes(row["state"])).decode(),
                "subject_id": str(row["subject_id"]) if row["subject_id"] else None,
                "recorded_at_us": micros(row["recorded_at"]), "hash": bytes(row["hash"]).hex(),
                "shown": describe(row)}}
        else:
            yield {"position": row["notification_id"], "digest": row_digest(row).hex()}


def verify_bundle(bundle: dict[str, Any], *, public_key: bytes | None = None) -> dict[str, Any]:
    """Check a bundle offline; `public_key` pins the platform's key (else the bundle's own is used)."""
    problems: list[str] = []
    key_bytes = public_key or bytes.fromhex(bundle["public_key"])
    tenant = bundle["tenant"]

    def signed(a: dict[str, Any]) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(key_bytes).verify(bytes.fromhex(a["signature"]), anchor_message(
                tenant, a["position"], bytes.fromhex(a["hash"]), a["signed_at_us"]))
            return True
        except (InvalidSignature, KeyError, ValueError):
            return False

    if bundle.get("format") != FORMAT:
        return {"ok": False, "problems": ["not a shouwang audit bundle"], "first_bad_position": None}
    start = bundle["start"]
    if start["position"] and not signed(start):
        problems.append(f"start anchor at {start['position']} is not signed by this key")
    previous, last, first_bad = bytes.fromhex(start["hash"]), start["position"], None
    for item in bundle["links"]:
        position = item["position"]
        try:
            if position <= last:
                raise ValueError("positions out of order")
            if "event" in item:
                e = item["event"]
                row_d = digest(position, UUID(e["originator_id"]), e["version"], e["topic"],
                               base64.b64decode(e["state"]), UUID(e["subject_id"]) if e["subject_id"] else None,
                               e["recorded_at_us"])
            else:
                row_d = bytes.fromhex(item["digest"])
            previous = link(previous, row_d)
            if "event" in item and bytes.fromhex(item["event"]["hash"]) != previous:
                raise ValueError("hash does not match")
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"position {position}: {e}")
            first_bad = position
            break
        last = position
    end = bundle.get("end")
    if first_bad is None:
        if end is None or end["position"] != last or bytes.fromhex(end["hash"]) != previous:
            problems.append("the chain does not end at the signed anchor")
            first_bad = last
        elif not signed(end):
            problems.append("the end anchor's signature does not verify")
            first_bad = last
    return {"ok": not problems, "problems": problems, "first_bad_position": first_bad,
            "events": sum("event" in i for i in bundle["links"]), "links": len(bundle["links"]),
            "public_key": key_bytes.hex()}


def dumps(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, indent=1, default=str).encode()
