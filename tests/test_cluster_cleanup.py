"""A test run stopped from outside leaves no PostgreSQL behind."""

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gateway.settings import PROJECT_ROOT
from store.locations import ManagedDatabase

WAITS_FOR_A_SIGNAL = '''
import time

def test_waits(app_conn):
    app_conn.execute("SELECT 1")
    print("cluster up", flush=True)
    time.sleep(120)
'''


def _postgres_running_in(root: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", f"postgres -D {root}"], capture_output=True, check=False)
    return found.returncode == 0


def test_a_terminated_test_run_stops_its_cluster(tmp_path: Path) -> None:
    # Not under tmp_path: the cluster runs as the system user `threatmap` when the tests run as
    # root, and pytest's temporary folders are private to root.
    root = Path(tempfile.mkdtemp(prefix="threatmap-cleanup-test-"))
    os.chmod(root, 0o755)
    (tmp_path / "test_waits.py").write_text(WAITS_FOR_A_SIGNAL)
    env = {**os.environ, "THREATMAP_TEST_ROOT": str(root)}
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-s", "-p", "tests.conftest",
                            "--rootdir", str(tmp_path), str(tmp_path / "test_waits.py")],
                           cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in run.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        try:
            while "cluster up" not in lines.get(timeout=max(0.1, deadline - time.monotonic())):
                pass
        except queue.Empty:
            raise AssertionError("the inner test run never started its cluster") from None
        assert _postgres_running_in(root)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    deadline = time.monotonic() + 10
    while _postgres_running_in(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    outlived, left = _postgres_running_in(root), list(root.iterdir())
    for folder in left:   # tidy up before failing
        ManagedDatabase(folder / "data", "threatmap_test").cluster.stop()
    shutil.rmtree(root, ignore_errors=True)
    assert not outlived, "the cluster outlived the terminated run"
    assert not left, "its folder was left behind"
