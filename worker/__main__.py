"""`python -m worker`: the same as `cpplan worker` with settings from the environment."""

from worker.main import main

main()
