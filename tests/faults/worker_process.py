"""The project's worker in a process of its own, so a fault test can SIGKILL it mid-send.

    python -m tests.faults.worker_process --address HOST:PORT --task-queue QUEUE

It reads the same environment as `cpplan worker` (CPPLAN_DATABASE_URL, CPPLAN_SMTP_URL,
CPPLAN_CODEC_KEYS, ...), prints `ready` on stdout once it polls the task queue, and runs until
it is killed.

It keeps no workflow cache (`max_cached_workflows=0`), so it asks for no sticky queue of its own:
each workflow task goes to the shared task queue. A worker with a cache has the plan's later
tasks and queries sent to its own queue; once it is dead, a real server moves them back to the
shared queue after a few seconds, but the time-skipping test server never does, and the plan
would wait for the dead worker for good. What is under test (the outbox, the claims, the
Message-IDs, the activity's retry) is the same either way.
"""

from __future__ import annotations

import argparse
import asyncio

from worker.client import connect
from worker.main import build_worker


async def serve(address: str, task_queue: str) -> None:
    client = await connect(address=address)
    worker = build_worker(client, task_queue=task_queue, max_cached_workflows=0)
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue))


if __name__ == "__main__":
    main()
