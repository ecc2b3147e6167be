"""Browser support for the page tests: the distribution's chromium driven by Playwright (never a
browser Playwright downloads), and axe-core from the axe-playwright-python package (no network)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# WCAG 2.2 AA and everything below it.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def chromium_path() -> str:
    for path in (*CHROMIUM_PATHS, shutil.which("chromium") or ""):
        if path and Path(path).is_file():
            return path
    pytest.fail("chromium not found: `apt-get install -y chromium` (.ci/run installs it)")


def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


@asynccontextmanager
async def browser_page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            # bypass_csp: only so the test can inject axe; the pages themselves run no script.
            context = await browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
            yield await context.new_page()
        finally:
            await browser.close()


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.2 AA violations on the page, in words."""
    await page.evaluate(axe_source())
    result = await page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    found = []
    for v in result["violations"]:
        if v.get("impact") in ("serious", "critical"):
            targets = [", ".join(n["target"]) for n in v["nodes"]][:3]
            found.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return found


def screenshot_dir(tmp_path: Path) -> Path:
    """Screenshots go to $CPPLAN_WEB_SCREENSHOTS (docs/ when refreshing the README's), else tmp."""
    chosen = os.environ.get("CPPLAN_WEB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
