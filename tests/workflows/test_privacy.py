"""What the Temporal server stores is ciphertext: read without the codec, a plan's history holds
no e-mail address, no child reference and no refusal text (issue: private histories)."""

from __future__ import annotations

import base64
import json

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateFailedError

from tests.helpers import london, plan_doc, running_worker, skip_to, start_plan_workflow, year_when
from tests.helpers.plan_scenario import Plan
from worker.codec import ENCODING
from workflows.plan import (
    BOUNDED_UNREADABLE_PATCH,
    CONTEXT_IN_START_PATCH,
    DATES_IN_RANGE_PATCH,
    END_NEEDS_MANAGER_PATCH,
    ENTITLED_SENDERS_PATCH,
    HONEST_RECORDS_PATCH,
    OVERDUE_WAKE_PATCH,
    PROCEDURES_3_PATCH,
    PROCEDURES_PATCH,
    STRICT_INPUT_PATCH,
)
from workflows.runtime import KEEP_WAKE_PATCH, LEAN_HISTORY_PATCH

LOCAL_ACTIVITY_MARKER_KEYS = {
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
}
PATCH_IDS = {
    HONEST_RECORDS_PATCH,
    OVERDUE_WAKE_PATCH,
    END_NEEDS_MANAGER_PATCH,
    STRICT_INPUT_PATCH,
    KEEP_WAKE_PATCH,
    LEAN_HISTORY_PATCH,
    PROCEDURES_PATCH,
    CONTEXT_IN_START_PATCH,
    BOUNDED_UNREADABLE_PATCH,
    PROCEDURES_3_PATCH,
    ENTITLED_SENDERS_PATCH,
    DATES_IN_RANGE_PATCH,
}


def payloads(message: Message, found: list[Payload]) -> None:
    """Every Payload anywhere in a protobuf message."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                payloads(item, found)


async def test_history_read_without_the_codec_shows_ciphertext_only(env, db_url):
    secret_child = "c-SECRETCHILD42"
    email = "jane.private@example.org"
    z = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{z}-01-11", 11))
    async with running_worker(env) as tq:
        doc = plan_doc(
            icpc_date=f"{z}-01-11",
            child_ref=secret_child,
            lead_social_worker={"id": "sw-1", "role": "lead-social-worker", "email": email},
        )
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()
        await plan.at(london(f"{z}-01-12", 12))
        await plan.update("record_visit", {"date": f"{z}-01-12", "seen": True, "by": "sw-1"})
        await plan.signal(
            "report_incident", {"kind": "new-incident", "date": f"{z}-01-12", "summary_ref": "s47-secret"}
        )
        try:
            await plan.update("record_signature", {"member_id": "gp-SECRET", "date": f"{z}-01-12"})
        except WorkflowUpdateFailedError:
            pass
        await plan.at(london(f"{z}-01-26", 10))
        await plan.told("escalation", "tm-1", "first-core-group")

        history = await plan.handle.fetch_history()
        text = history.to_json()
        for needle in (secret_child, email, "s47-secret", "gp-SECRET", "not a member"):
            assert needle not in text, f"{needle!r} is readable in the server's history"
        found: list[Payload] = []
        for event in history.events:
            payloads(event, found)
        assert found, "the history has payloads"
        for payload in found:
            if payload.metadata["encoding"] != ENCODING:
                # The SDK's own markers are the only clear payloads: a patch id and a flag; or,
                # for a local activity, which one it was, its attempt and its times (its
                # result is encrypted like every other payload).
                marker = json.loads(payload.data)
                if isinstance(marker, dict) and "activity_type" in marker:
                    assert set(marker) <= LOCAL_ACTIVITY_MARKER_KEYS, marker
                    assert marker["activity_type"] in {"load_plan_context", "save_plan", "notify"}, marker
                else:
                    ids = {
                        m["id"] if isinstance(m, dict) else m
                        for m in (marker if isinstance(marker, list) else [marker])
                    }
                    assert ids <= PATCH_IDS, payload
            for needle in (secret_child, email):
                assert needle.encode() not in payload.data
                assert base64.b64encode(needle.encode()) not in payload.data
        # Only opaque references are visible to ops: the workflow id and memo carry the plan id.
        description = await plan.handle.describe()
        assert description.id == f"cp-plan-{doc['plan_id']}"
        memo_text = str(await description.memo())
        assert secret_child not in memo_text and email not in memo_text
