"""The mirror property, by hypothesis: random creates, edits, publishes, retirements and
visibility changes through the HTTP API; at random points mirrors (anonymous and restricted)
replay the feed from their last token and must equal what their caller can read."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.conftest import second_person
from tests.web.test_sync import Mirror, comparable, visible_state

RUNS = itertools.count()
CHECKS = itertools.count()
VISIBILITIES = st.sampled_from(["public", "law_enforcement"])
NOTES = st.text(alphabet="abcdefgh ", min_size=1, max_size=12).filter(str.strip)


def test_mirrors_always_equal_what_their_caller_can_read(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    writer = keys.chief

    class Partners(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.run = next(RUNS)
            self.ids: list[str] = []
            self.mirrors = [Mirror(client, {}), Mirror(client, keys.reader)]

        def _etag(self, record_id: str) -> str:
            return client.get(f"/api/v1/hotlines/{record_id}", headers=writer).headers["ETag"]

        def _patch(self, record_id: str, changes: dict) -> None:
            """A change, approved by a second person when it needs one."""
            response = second_person(client, client.patch(
                f"/api/v1/hotlines/{record_id}", json=changes,
                headers={**writer, "If-Match": self._etag(record_id)}), keys)
            assert response.status_code in (200, 410), response.get_json()

        @rule(data=st.data())
        def propose(self, data: st.DataObject) -> None:
            """A new number no second person approves: mirrors never see it."""
            if self.ids:
                record_id = data.draw(st.sampled_from(self.ids))
                response = client.patch(
                    f"/api/v1/hotlines/{record_id}",
                    json={"channels": [{"kind": "voice", "value": "+15555550199"}]},
                    headers={**writer, "If-Match": self._etag(record_id)})
                assert response.status_code in (200, 202, 410), response.get_json()

        @rule(visibility=VISIBILITIES, draft=st.booleans())
        def create(self, visibility: str, draft: bool) -> None:
            record_id = f"prop-{self.run}-{len(self.ids)}"
            body = {"id": record_id, "verified_on": "2026-11-28", "visibility": visibility,
                    "status": "draft" if draft else "published",
                    "sources": [{"url": "https://example.org/p", "title": "Property test"}],
                    "name": {"en": f"Line {record_id}"}, "organization": {"en": "Test"},
                    "purpose": "report_tip",
                    "channels": [{"kind": "voice", "value": "+15555550100"}]}
            assert client.post("/api/v1/hotlines", json=body, headers=writer).status_code == 201
            self.ids.append(record_id)

        @rule(data=st.data(), note=NOTES)
        def edit(self, data: st.DataObject, note: str) -> None:
            if self.ids:
                self._patch(data.draw(st.sampled_from(self.ids)), {"notes": {"en": note}})

        @rule(data=st.data(), status=st.sampled_from(["published", "draft"]))
        def set_status(self, data: st.DataObject, status: str) -> None:
            if self.ids:
                self._patch(data.draw(st.sampled_from(self.ids)), {"status": status})

        @rule(data=st.data(), visibility=VISIBILITIES)
        def set_visibility(self, data: st.DataObject, visibility: str) -> None:
            if self.ids:
                self._patch(data.draw(st.sampled_from(self.ids)), {"visibility": visibility})

        @rule(data=st.data())
        def retire(self, data: st.DataObject) -> None:
            if self.ids:
                record_id = data.draw(st.sampled_from(self.ids))
                response = second_person(client, client.delete(
                    f"/api/v1/hotlines/{record_id}",
                    headers={**writer, "If-Match": self._etag(record_id)}), keys)
                assert response.status_code in (200, 204, 410)

        @rule(which=st.sampled_from([0, 1]))
        def sync(self, which: int) -> None:
            mirror = self.mirrors[which]
            mirror.sync()
            next(CHECKS)
            assert comparable(mirror.records) == comparable(
                visible_state(client, mirror.headers))

        @invariant()
        def a_synced_mirror_stays_put_on_a_no_op_sync(self) -> None:
            for mirror in self.mirrors:
                if mirror.token is not None:
                    before, requests = dict(mirror.records), mirror.requests
                    mirror.sync()
                    changed = mirror.records != before
                    assert changed or mirror.requests == requests + 1

    Partners.TestCase.settings = settings(
        max_examples=60, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    first_check = next(CHECKS)
    Partners.TestCase().runTest()
    assert next(CHECKS) - first_check > 20  # the mirrors were really compared, many times
