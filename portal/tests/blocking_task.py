"""A task for the worker-kill tests: it holds its worker until the test releases it, the way
a long sync or a slow registry would."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.tasks import task


@task
def wait_for_release(folder: str) -> dict:
    """Mark that a worker started it, wait for ``release`` in ``folder``, return the worker's pid."""
    here = Path(folder)
    (here / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not (here / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.05)
    return {"pid": os.getpid()}
