"""`python -m bench` from a checkout (see bench/harness.py for the method)."""

import os
import sys

from bench.cli import main

code = main(prog="python -m bench")
sys.stdout.flush()
sys.stderr.flush()
# Leave without interpreter teardown, as `cpplan` does: the Temporal client's Rust threads can
# crash it (temporalio/sdk-python#300) and turn a clean exit into an abort.
os._exit(code)
