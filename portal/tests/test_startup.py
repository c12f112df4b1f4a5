"""What a web process does once at start (portal/startup.py, portal/wsgi.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_process_freezes_what_it_loaded_before_its_first_request():
    # In a process of its own, as a gunicorn worker loads portal.wsgi: the URL patterns are
    # loaded and everything made so far is out of the garbage collector's full passes.
    script = (
        "import gc, sys\nimport portal.wsgi\nprint(gc.get_freeze_count(), 'registries.urls' in sys.modules)\n"
    )
    environment = {**os.environ, "WHARF_TESTING": "1", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    answer = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    frozen, urls_loaded = answer.stdout.split()
    assert int(frozen) > 10_000 and urls_loaded == "True"
