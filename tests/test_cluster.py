"""The managed cluster's errors say what is wrong and what to do."""

import os
from pathlib import Path

import pytest

from gateway.cli import main
from store.cluster import ManagedCluster, server_major
from store.errors import StoreSetupError
from store.locations import DatabaseUrls


def test_data_folder_of_another_major_version_is_refused_with_advice(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    cluster = ManagedCluster(tmp_path / "data")
    (tmp_path / "data" / "pg").mkdir(parents=True)
    other = server_major(cluster.bindir) - 1
    (tmp_path / "data" / "pg" / "PG_VERSION").write_text(f"{other}\n")
    with pytest.raises(StoreSetupError, match=rf"holds a PostgreSQL {other} cluster.*Move that folder"):
        cluster.start()


def test_db_status_lists_every_migration_as_applied(urls: DatabaseUrls, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", urls.app)
    main(["db", "status"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("0001_roles_and_schemas: 20")
    assert not any(line.endswith("pending") for line in lines)
