"""deploy/scale/nginx.conf (the main file for a machine that balances threatmap, sized for many
readers) with threatmap-scale.conf included: `nginx -t` accepts them as `python -m bench
many_readers` writes them (the shipped files, only addresses and folders replaced)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.many_readers import nginx_conf

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(NGINX is None, reason="nginx is needed (.ci/run installs it)")
def test_nginx_accepts_the_scale_configs_for_many_readers(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    conf = nginx_conf(tmp_path, 18080, ["127.0.0.1:18001", "127.0.0.1:18002"])
    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    text = (tmp_path / "threatmap-scale.conf").read_text()
    assert "listen 127.0.0.1:18080 backlog=4096;" in text
    main = conf.read_text()
    assert "worker_rlimit_nofile 65535;" in main and "worker_connections 16384;" in main
