"""The two-person rule: the writes to a published record that wait for a second person.

A dispatcher reads a number off the screen to a frightened caller, so one key alone may not
change how to reach someone, show the public what only law enforcement may read, or take a
hotline off the screens. Such a write becomes a proposal (``202 Accepted``), published when a
key with the ``approve`` scope, of another name, approves it.
"""

from __future__ import annotations

from typing import Any

from .base import StrictSchema
from .fields import Line
from .registry import REGISTRY

#: Why a write waits for approval.
REASONS = {
    "contact_channels": "It changes how to reach someone (a number, address, URL, channel "
                        "kind, or the hotlines a record names).",
    "made_public": "It shows the public a record meant for law enforcement only.",
    "withdrawn": "It takes a hotline off the screens (retired, or back to draft).",
}


def reasons_for(record_type: str, status: str, visibility: str, content: dict[str, Any],
                proposed: dict[str, Any]) -> list[str]:
    """Why writing ``proposed`` over a record (its ``status``, ``visibility`` and stored
    ``content``) needs a second person; empty when one key may write it."""
    if status != "published":
        return []
    kind = REGISTRY[record_type]
    return [reason for reason, applies in (
        ("contact_channels", any(content.get(name) != proposed.get(name)
                                 for name in kind.contact_fields)),
        ("made_public", visibility != "public"
         and proposed.get("visibility", "public") == "public"),
        ("withdrawn", kind.withdrawal_needs_approval
         and proposed.get("status", "published") != "published")) if applies]


class RejectionSchema(StrictSchema):
    """Why a proposal is rejected (``POST /api/v1/proposals/{id}/reject``)."""

    reason = Line(max_length=1000, required=True, metadata={
        "description": "Why, for the proposer and the audit trail."})
