"""cpplan activities: everything the plan workflow does outside itself (files, database, mail).

All are `async def` and run their blocking work in threads (`asyncio.to_thread`), so the worker
needs no activity executor.
"""

from activities.notify import notify
from activities.plan_context import load_plan_context
from activities.read_model import save_plan

ALL_ACTIVITIES = [load_plan_context, notify, save_plan]

__all__ = ["ALL_ACTIVITIES", "load_plan_context", "notify", "save_plan"]
