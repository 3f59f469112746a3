"""The shipped nginx configuration (deploy/nginx/threatmap.conf), checked with the real nginx:
`nginx -t` on the file as shipped (its ports, certificate and cache paths pointed at the test's),
then HTTPS requests through it to the running app: /health over HTTP/2, gzip for JSON, the tiles'
cache headers respected, a GraphQL WebSocket upgrade, the HTTP to HTTPS redirect. The systemd
unit is checked with systemd-analyze where systemd is installed."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mercantile
import pytest
import websockets

from gateway.settings import PROJECT_ROOT, Settings
from tests.support import PUBLISHED_KRAKOW, app_in_thread, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")
SHIPPED = PROJECT_ROOT / "deploy" / "nginx" / "threatmap.conf"
UNIT = PROJECT_ROOT / "deploy" / "systemd" / "threatmap.service"

pytestmark = pytest.mark.skipif(not (NGINX and OPENSSL and CURL),
                                reason="nginx, openssl and curl are needed (.ci/run installs them)")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the shipped config no longer has {old!r} once"
    return text.replace(old, new)


def rendered(app_port: int, http_port: int, tls_port: int, folder: Path) -> str:
    """The shipped file with only its ports, certificate and cache paths changed."""
    conf = SHIPPED.read_text(encoding="utf-8")
    conf = replace_once(conf, "server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    conf = replace_once(conf, "listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = replace_once(conf, "listen [::]:80;\n", "")
    conf = replace_once(conf, "listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    conf = replace_once(conf, "listen [::]:443 ssl http2;\n", "")
    conf = replace_once(conf, "/etc/letsencrypt/live/map.example.org/fullchain.pem", str(folder / "cert.pem"))
    conf = replace_once(conf, "/etc/letsencrypt/live/map.example.org/privkey.pem", str(folder / "key.pem"))
    return replace_once(conf, "/var/cache/nginx/threatmap", str(folder / "cache"))


def main_conf(folder: Path) -> str:
    """A minimal nginx.conf that includes the site file, as Debian's includes conf.d/."""
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
            f"events {{}}\nhttp {{\n    include /etc/nginx/mime.types;\n"
            f"    access_log {folder / 'access.log'};\n{temp}\n"
            f"    include {folder / 'threatmap.conf'};\n}}\n")


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="threatmap-nginx-"))
    os.chmod(root, 0o755)
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", root / "key.pem", "-out", root / "cert.pem", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:map.example.org"],
                   check=True, capture_output=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def app_url(settings: Settings, published: dict) -> Iterator[str]:
    behind = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    with app_in_thread(behind) as url:
        yield url


@pytest.fixture(scope="module")
def proxy(folder: Path, app_url: str) -> Iterator[tuple[int, int]]:
    http_port, tls_port = free_port(), free_port()
    (folder / "threatmap.conf").write_text(rendered(int(app_url.rsplit(":", 1)[1]), http_port, tls_port,
                                                    folder), encoding="utf-8")
    (folder / "nginx.conf").write_text(main_conf(folder), encoding="utf-8")
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for_port(tls_port)
        yield http_port, tls_port
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_nginx_accepts_the_shipped_config(proxy: tuple[int, int]) -> None:
    """`nginx -t` passed in the fixture; nothing else is checked here."""


def curl(*args: str) -> str:
    result = subprocess.run([CURL, "--silent", "--show-error", "--max-time", "20", *args],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_health_over_https_and_http2(proxy: tuple[int, int], folder: Path) -> None:
    _, tls = proxy
    out = curl("--http2", "--cacert", str(folder / "cert.pem"), "-o", "/dev/null",
               "-w", "%{http_code} %{http_version}", f"https://127.0.0.1:{tls}/health")
    assert out == "200 2"


def test_plain_http_is_redirected_to_https(proxy: tuple[int, int]) -> None:
    http, _ = proxy
    out = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://127.0.0.1:{http}/health")
    assert out == "301 https://127.0.0.1/health"


async def test_json_is_gzipped_and_headers_pass_through(proxy: tuple[int, int], folder: Path) -> None:
    _, tls = proxy
    async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{tls}",
                                 verify=ssl.create_default_context(cafile=folder / "cert.pem")) as client:
        ogc = await client.get("/ogc/collections", params={"f": "json"}, headers={"Accept-Encoding": "gzip"})
        assert ogc.status_code == 200 and ogc.headers["content-encoding"] == "gzip"
        assert ogc.json()["collections"]
        assert ogc.headers["strict-transport-security"].startswith("max-age=")
        t = mercantile.tile(*PUBLISHED_KRAKOW, 12)
        path = f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt"
        first = await client.get(path)
        direct = httpx.get(f"{proxy_app(folder)}{path}")
        assert first.status_code == 200 and first.content == direct.content and first.content
        assert first.headers["cache-control"] == direct.headers["cache-control"]
        assert first.headers["etag"] == direct.headers["etag"]
        second = await client.get(path)
        assert second.headers["x-cache-status"] == "HIT" and second.content == first.content
        assert second.headers["strict-transport-security"].startswith("max-age=")
        unchanged = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert unchanged.status_code == 304


def proxy_app(folder: Path) -> str:
    """The app's own address, as nginx's upstream names it."""
    conf = (folder / "threatmap.conf").read_text(encoding="utf-8")
    port = conf.split("server 127.0.0.1:", 1)[1].split(";", 1)[0]
    return f"http://127.0.0.1:{port}"


async def test_a_graphql_subscription_socket_goes_through(proxy: tuple[int, int], folder: Path) -> None:
    _, tls = proxy
    context = ssl.create_default_context(cafile=folder / "cert.pem")
    async with websockets.connect(f"wss://127.0.0.1:{tls}/graphql", ssl=context,
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "{ categories { id } }"}}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "next" and answer["payload"]["data"]["categories"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    """systemd-analyze verify: every key known and well formed (with the program path pointed at
    one that exists here)."""
    unit = UNIT.read_text(encoding="utf-8")
    unit = replace_once(unit, "ExecStart=/opt/threatmap/.venv/bin/threatmap serve",
                        f"ExecStart={PROJECT_ROOT / '.venv' / 'bin' / 'threatmap'} serve")
    (tmp_path / "threatmap.service").write_text(unit, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "threatmap.service")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    lines = set(unit.splitlines())
    for hardening in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
                      "CapabilityBoundingSet=", "PrivateTmp=yes", "ProtectHome=yes"):
        assert hardening in lines, hardening
