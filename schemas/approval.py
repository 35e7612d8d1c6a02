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
    "withdrawn": "It takes a hotline off the screens (retired, back to draft, or restricted to "
                 "law enforcement).",
}


def reasons_for(record_type: str, on_screens: dict[str, Any] | None,
                proposed: dict[str, Any]) -> list[str]:
    """Why writing ``proposed`` (content with its ``status`` and ``visibility``) needs a second
    person; empty when one key may write it. ``on_screens`` is what readers see or last saw:
    the record's latest published or retired version (its content, status and visibility), None
    for a record never published. Comparing with it, not with a draft in between, means a
    record cannot be moved to draft by one write and published changed by the next."""
    if on_screens is None:
        return []
    shown = on_screens.get("status") == "published"
    publishes = proposed.get("status", "published") == "published"
    if not (shown or publishes):
        return []  # it stays off the screens
    kind = REGISTRY[record_type]
    was_public = on_screens.get("visibility", "public") == "public"
    public = proposed.get("visibility", "public") == "public"
    return [reason for reason, applies in (
        ("contact_channels", publishes and any(on_screens.get(name) != proposed.get(name)
                                               for name in kind.contact_fields)),
        ("made_public", publishes and public and not was_public),
        ("withdrawn", kind.withdrawal_needs_approval and shown
         and (not publishes or (was_public and not public)))) if applies]


class RejectionSchema(StrictSchema):
    """Why a proposal is rejected (``POST /api/v1/proposals/{id}/reject``)."""

    reason = Line(max_length=1000, required=True, metadata={
        "description": "Why, for the proposer and the audit trail."})
