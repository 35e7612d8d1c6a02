"""Hotlines as Open Referral HSDS 3.0: organizations, their services and phones (the hotline
type declares this mapping: ``RecordType.hsds``).

Ids are UUIDs derived from our ids (UUID 5), so they stay the same from one export to the next.
"""

from __future__ import annotations

import uuid
from typing import Any

from .vocabularies import VOCABULARIES

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://htcontent.dev/hsds")
PHONE_TYPES = {"voice": "voice", "text": "text", "tty": "textphone", "video": "video"}
#: HSDS has no verification status: it travels as an attribute of the service, a term of this
#: taxonomy (``verified``, ``unverified``, ``disputed``); ``verified_on`` is ``assured_date``.
VERIFICATION_TAXONOMY = "htcontent:verification_status"
_VERIFICATION_LABELS = {term.code: term for term in VOCABULARIES["verification_status"]}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _verification(hotline: dict[str, Any], service_id: str) -> dict[str, Any]:
    status = hotline["verification_status"]
    term_id = _uuid("taxonomy", VERIFICATION_TAXONOMY, status)
    return {
        "id": _uuid("hotline", hotline["id"], "verification_status"),
        "link_id": service_id,
        "link_type": "verification_status",
        "link_entity": "service",
        "taxonomy_term_id": term_id,
        "value": status,
        "taxonomy_term": {"id": term_id, "code": status,
                          "name": _VERIFICATION_LABELS[status].en,
                          "description": "Whether the service's details were checked against "
                                         "their sources, and whether those sources agree.",
                          "taxonomy": VERIFICATION_TAXONOMY},
    }


def _service(hotline: dict[str, Any], organization_id: str) -> dict[str, Any]:
    service_id = _uuid("hotline", hotline["id"])
    channels = hotline.get("channels", [])
    service: dict[str, Any] = {
        "id": service_id,
        "organization_id": organization_id,
        "name": hotline["name"],
        "alternate_name": hotline["id"],
        "description": hotline.get("notes") or hotline["name"],
        "status": "active",
        "last_modified": hotline["updated_at"],
        "attributes": [_verification(hotline, service_id)],
        "phones": [
            {
                "id": _uuid("hotline", hotline["id"], channel["kind"], channel["value"]),
                "service_id": service_id,
                "number": channel.get("display") or channel["value"],
                "type": PHONE_TYPES[channel["kind"]],
                "description": " ".join(filter(None, [channel.get("hours"),
                                                      channel.get("notes")])) or None,
            }
            for channel in channels if channel["kind"] in PHONE_TYPES
        ],
    }
    for phone in service["phones"]:
        if phone["description"] is None:
            del phone["description"]
    web = next((c["value"] for c in channels if c["kind"] in ("web", "chat")), None)
    email = next((c["value"] for c in channels if c["kind"] == "email"), None)
    if hotline.get("verified_on"):
        service["assured_date"] = hotline["verified_on"]
    if web:
        service["url"] = web
    if email:
        service["email"] = email
    return service


def organizations(hotlines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Localized hotline records grouped into HSDS organizations (by organization name)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for hotline in hotlines:
        grouped.setdefault(hotline["organization"], []).append(hotline)
    result = []
    for name, members in sorted(grouped.items()):
        organization_id = _uuid("organization", name)
        result.append({
            "id": organization_id,
            "name": name,
            "description": "; ".join(hotline["name"] for hotline in members),
            "services": [_service(hotline, organization_id) for hotline in members],
        })
    return result


def page(contents: list[dict[str, Any]]) -> dict[str, Any]:
    """One page holding everything, in the HSDS API's paginated list shape."""
    return {"total_items": len(contents), "total_pages": 1, "page_number": 1,
            "size": len(contents), "first_page": True, "last_page": True,
            "empty": not contents, "contents": contents}
