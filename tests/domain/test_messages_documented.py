"""The contract case systems read names every message of the registry with its kind, and no
other: the README's contract list ("Updates" and "Signals") and docs/contract.md's Messages
table. A message added, renamed or removed in code and not in them fails here."""

from __future__ import annotations

import re
from pathlib import Path

from workflows.messages import PLAN_MESSAGES

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"`([a-z][a-z_]*)`")


def registry(kind: str) -> set[str]:
    return {spec.name for spec in PLAN_MESSAGES if spec.kind == kind}


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    start = text.index(heading + "\n") + len(heading)
    following = re.search(r"^#+ ", text[start:], re.M)
    return text[start : start + following.start()] if following else text[start:]


def bullet(text: str, first_word: str) -> str:
    """One top-level bullet of a list, its continuation lines included."""
    found = re.search(rf"^- {first_word}\b.*?(?=^- |^\S|\Z)", text, re.M | re.S)
    assert found, f"no bullet starting {first_word!r}"
    return found.group(0)


def test_the_readme_contract_lists_each_update_and_signal():
    contract = section((ROOT / "README.md").read_text(), "## The contract (what case systems depend on)")
    for kind, word in (("update", "Updates"), ("signal", "Signals")):
        named = set(NAME.findall(bullet(contract, word)))
        assert named >= registry(kind), f"README's {word} bullet lacks {sorted(registry(kind) - named)}"
        assert named <= registry(kind), f"README's {word} bullet names {sorted(named - registry(kind))}: no such {kind}"


def test_the_contract_messages_table_has_a_row_for_each_message_with_its_kind():
    table = section((ROOT / "docs" / "contract.md").read_text(), "## Messages")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    kinds = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for name in NAME.findall(cells[0]):
            kinds[name] = cells[1]
    assert kinds == {spec.name: spec.kind for spec in PLAN_MESSAGES}
