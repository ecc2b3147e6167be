"""docs/contract.md's "Events out" table names exactly the event types cpplan sends, each with
its data's fields (`?` for those left out when they have no value), and the README's section
points to it: a new type or field is documented or this fails."""

from __future__ import annotations

import re
from pathlib import Path

from activities.event_types import EVENT_TYPES, EVENTS

ROOT = Path(__file__).resolve().parents[2]


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def test_the_contract_documents_every_event_type_and_no_other() -> None:
    table = section((ROOT / "docs" / "contract.md").read_text(encoding="utf-8"), "## Events out")
    documented = set(re.findall(r"^\| `(uk\.gov\.cpplan\.[a-z.]+)` \|", table, flags=re.M))
    assert documented == set(EVENT_TYPES)


def test_the_contract_names_each_types_data_fields() -> None:
    table = section((ROOT / "docs" / "contract.md").read_text(encoding="utf-8"), "## Events out")
    rows = {m[0]: m[1] for m in re.findall(r"^\| `(uk\.gov\.cpplan\.[a-z.]+)` \|[^|]*\|([^|]*)\|$", table, flags=re.M)}
    for event in EVENTS:
        named = set(re.findall(r"`([a-z_]+\??)`", rows[event.type]))
        for name, field in event.data.model_fields.items():
            if name == "plan_id":  # every data has it: said once above the table
                continue
            written = name if field.is_required() else name + "?"
            assert written in named, (event.type, written, rows[event.type])


def test_the_readme_explains_events_out() -> None:
    readme = section((ROOT / "README.md").read_text(encoding="utf-8"), "## Events out")
    for name in ("CPPLAN_WEBHOOK_URL", "CPPLAN_WEBHOOK_SECRET", "cpplan events redeliver", "cpplan doctor"):
        assert name in readme
