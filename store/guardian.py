"""Stops a managed cluster when the process that started it dies without stopping it.

A process killed with SIGKILL (or one that exits through a path that skips its clean-up, such as
uvicorn's forced exit on a second Ctrl-C) cannot stop the PostgreSQL it started, and the cluster
would outlive it, holding its data folder and socket. So the process that starts a cluster also
starts this guardian, in a session of its own (a Ctrl-C to the terminal does not reach it),
holding the write end of a pipe to the guardian's stdin. The kernel closes that pipe however the
process ends. The guardian blocks reading it: `stopped` followed by the end means the cluster was
stopped (or handed over) on purpose, and the guardian just exits; the end alone means the owner
died, and the guardian stops the cluster (`pg_ctl stop -m fast`, then `immediate`).

Run as `python -m store.guardian <pgdata> <bindir> [<system user>]`.
"""

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

RELEASED = b"stopped\n"


def spawn(pgdata: Path, bindir: Path, run_as: str | None) -> subprocess.Popen:
    """Starts a guardian of the cluster in pgdata; write RELEASED to its stdin and close it when
    the cluster no longer needs guarding (see release)."""
    return subprocess.Popen(
        [sys.executable, "-m", "store.guardian", str(pgdata), str(bindir), run_as or ""],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, cwd=Path(__file__).resolve().parent.parent)


def release(guardian: subprocess.Popen) -> None:
    """Tells the guardian that the cluster was stopped on purpose; it exits."""
    try:
        guardian.stdin.write(RELEASED)
        guardian.stdin.close()
    except (BrokenPipeError, ValueError):
        pass   # the guardian is gone already
    with contextlib.suppress(subprocess.TimeoutExpired):
        guardian.wait(timeout=5)


def _stop(pgdata: str, bindir: str, run_as: str | None) -> None:
    for mode, timeout in (("fast", 60), ("immediate", 30)):
        try:
            result = subprocess.run([f"{bindir}/pg_ctl", "stop", "-w", "-t", str(timeout), "-m",
                                     mode, "-D", pgdata], capture_output=True, user=run_as,
                                    cwd="/", check=False, timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            continue
        if result.returncode == 0 or b"No such file" in result.stderr \
                or b"Is server running?" in result.stderr:
            return


def main(argv: list[str]) -> None:
    pgdata, bindir = argv[0], argv[1]
    run_as = argv[2] if len(argv) > 2 and argv[2] else None
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    said = sys.stdin.buffer.read()   # until the owner closes the pipe, or the kernel does
    if said.endswith(RELEASED):
        return
    _stop(pgdata, bindir, run_as)


if __name__ == "__main__":
    main(sys.argv[1:])
