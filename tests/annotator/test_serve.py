"""The serve command's server, for real: daphne on a free loopback port, in a subprocess."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(var),
        "ANNOTATOR_ADMIN_PASSWORD": "correct horse battery",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    log = (var / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, (var / "serve.log").read_text()
            time.sleep(0.2)
    else:
        raise AssertionError("server did not start:\n" + (var / "serve.log").read_text())
    yield base, var
    process.terminate()
    process.wait(timeout=10)


def login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    page = client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    response = client.post(
        "/accounts/login/",
        data={
            "username": "admin",
            "password": "correct horse battery",
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert page.status_code == 200
    assert response.status_code == 302, response.text
    return client


def test_the_server_serves_the_login_page(server):
    base, var = server
    response = httpx.get(f"{base}/", follow_redirects=True)
    assert response.status_code == 200
    assert "Log in" in response.text
    css = httpx.get(f"{base}/static/css/app.css")
    assert css.status_code == 200 and "--accent" in css.text


def test_the_first_run_creates_the_admin_and_the_demo_project(server):
    base, var = server
    assert "Created the admin account" in (var / "serve.log").read_text()
    projects = login(base).get("/api/projects/").json()
    demo = next(p for p in projects if p["name"] == "Demo")
    assert demo["image_count"] >= 3


def test_a_websocket_handshake_goes_through_the_same_server(server):
    base, _ = server
    client = login(base)
    project_id = client.get("/api/projects/").json()[0]["id"]
    url = base.replace("http", "ws") + f"/ws/projects/{project_id}/"
    cookie = f"sessionid={client.cookies['sessionid']}"
    with connect(url, additional_headers={"Cookie": cookie, "Origin": base}) as websocket:
        hello = json.loads(websocket.recv(timeout=10))
    assert hello["type"] == "hello"
    assert hello["data"]["role"] == "owner"
