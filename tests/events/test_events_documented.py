"""docs/contract.md's "Events out" table names exactly the event types cpplan sends, and the
README's section points to it: a new type is documented or this fails."""

from __future__ import annotations

import re
from pathlib import Path

from activities.event_types import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def test_the_contract_documents_every_event_type_and_no_other() -> None:
    table = section((ROOT / "docs" / "contract.md").read_text(encoding="utf-8"), "## Events out")
    documented = set(re.findall(r"^\| `(uk\.gov\.cpplan\.[a-z.]+)` \|", table, flags=re.M))
    assert documented == set(EVENT_TYPES)


def test_the_readme_explains_events_out() -> None:
    readme = section((ROOT / "README.md").read_text(encoding="utf-8"), "## Events out")
    for name in ("CPPLAN_WEBHOOK_URL", "CPPLAN_WEBHOOK_SECRET", "cpplan events redeliver", "cpplan doctor"):
        assert name in readme
