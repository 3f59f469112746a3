"""A PostgreSQL cluster of the project's own, for `make run` and the tests.

initdb'd under a data folder, listening only on a Unix socket in that folder (no TCP port to
collide with), trust authentication (only the owner and root can reach the socket). When run
as root, the cluster runs as an unprivileged system user, because PostgreSQL refuses root.
"""

import glob
import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from store import guardian
from store.errors import StoreSetupError

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
SYSTEM_USER = "threatmap"


def find_bindir() -> Path:
    """The PostgreSQL server binaries: pg_config --bindir, else the newest /usr/lib/postgresql."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True,
                                          key=lambda p: int(p.split("/")[-2]))]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise StoreSetupError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install PostgreSQL "
        "(on Debian: apt-get install postgresql postgresql-15-postgis-3) or set DATABASE_URL "
        "to an existing PostGIS database."
    )


def server_major(bindir: Path) -> int:
    out = subprocess.run([bindir / "postgres", "--version"], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1].split(".")[0])


class ManagedCluster:
    """One local cluster under `root` (data in root/pg, socket in root/run)."""

    def __init__(self, root: Path, port: int = 5432) -> None:
        self.root = root.resolve()
        self.pgdata = self.root / "pg"
        self.socket_dir = self.root / "run"
        self.port = port
        self.bindir = find_bindir()
        self.run_as = SYSTEM_USER if os.geteuid() == 0 else None
        self.started_here = False
        self._guardian: subprocess.Popen | None = None

    def url(self, user: str, dbname: str) -> str:
        return f"postgresql://{user}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def start(self) -> None:
        """Initialize when new, then start unless a server already runs on this folder."""
        self._check_postgis()
        self._prepare_folders()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._check_major_version()
        if self.is_running():
            log.info("reusing the PostgreSQL server already running on %s", self.pgdata)
            return
        self._run([self.bindir / "pg_ctl", "start", "-w", "-t", "60", "-D", self.pgdata,
                   "-l", self.pgdata / "server.log", "-o",
                   f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
                   f"-p {self.port}"],
                  what="start PostgreSQL")
        self.started_here = True
        if self._guardian is None or self._guardian.poll() is not None:
            # stops the cluster should this process die without doing it (store/guardian.py)
            self._guardian = guardian.spawn(self.pgdata, self.bindir, self.run_as)

    def stop(self) -> None:
        if self.is_running():
            self._run([self.bindir / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.pgdata],
                      what="stop PostgreSQL")
        self.started_here = False
        if self._guardian is not None:
            guardian.release(self._guardian)
            self._guardian = None

    def postmaster_pid(self) -> int | None:
        """The pid of the cluster's postmaster while it lives (a zombie is dead), else None."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return None
        state = stat.rsplit(")", 1)[1].split()[0]
        return None if state in ("Z", "X") else pid

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = subprocess.run([self.bindir / "pg_ctl", "status", "-D", self.pgdata],
                                capture_output=True, user=self.run_as, check=False)
        return result.returncode == 0

    def _check_postgis(self) -> None:
        sharedir = subprocess.run([self.bindir / "pg_config", "--sharedir"], capture_output=True,
                                  text=True, check=False).stdout.strip()
        sharedir = sharedir or f"/usr/share/postgresql/{server_major(self.bindir)}"
        if not glob.glob(f"{sharedir}/extension/postgis.control"):
            major = server_major(self.bindir)
            raise StoreSetupError(
                f"PostGIS for PostgreSQL {major} is not installed. Install it (on Debian: "
                f"apt-get install postgresql-{major}-postgis-3; `make run` does this as root)."
            )

    def _prepare_folders(self) -> None:
        for folder in (self.root, self.pgdata, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if self.run_as:
            _ensure_system_user(self.run_as)
            owner = pwd.getpwnam(self.run_as)
            for folder in (self.pgdata, self.socket_dir):
                os.chown(folder, owner.pw_uid, owner.pw_gid)
        self.pgdata.chmod(0o700)
        self.socket_dir.chmod(0o700)

    def _initdb(self) -> None:
        log.info("creating a PostgreSQL cluster in %s", self.pgdata)
        self._run([self.bindir / "initdb", "-D", self.pgdata, "-U", SUPERUSER, "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"], what="initialize the PostgreSQL cluster")

    def _check_major_version(self) -> None:
        folder_major = int((self.pgdata / "PG_VERSION").read_text().strip().split(".")[0])
        binary_major = server_major(self.bindir)
        if folder_major != binary_major:
            raise StoreSetupError(
                f"{self.pgdata} holds a PostgreSQL {folder_major} cluster but the installed "
                f"server is PostgreSQL {binary_major}. Move that folder away (or dump and "
                f"restore it with PostgreSQL {folder_major}), then start again."
            )

    def _run(self, command: list, what: str) -> None:
        result = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                                user=self.run_as, cwd="/", check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            logfile = self.pgdata / "server.log"
            if logfile.exists():
                detail += "\n" + "\n".join(logfile.read_text(errors="replace").splitlines()[-10:])
            hint = ""
            if "lock file" in detail or "already in use" in detail:
                hint = ("\nAnother server holds this socket or data folder; stop it, or set "
                        "THREATMAP_DATA_DIR to another folder.")
            raise StoreSetupError(f"Could not {what}:\n{detail}{hint}")


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
