"""The production mode as a team runs it, on loopback and without containers: PostgreSQL,
Redis, daphne (`manage.py serve`) and one `celery worker` process per queue, each a real
subprocess that a test may kill and start again.

Plain HTTP on loopback: SECURE_SSL_REDIRECT is off and daphne trusts X-Forwarded-Proto
(--proxy-headers), as it would behind a TLS proxy. REST calls use token auth; the WebSocket
uses a session cookie obtained by a login marked https through that header, which is what
the proxy would send. The cookies are Secure, so they are carried by hand, not by a jar.
"""

import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import psycopg
from websockets.sync.client import ClientConnection, connect

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "correct horse battery staple"
# Click workers serve clicks from memory with threads; the others run one task at a time.
POOLS = {"gpu": "solo", "default": "solo"}


def wait_until(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as error:  # not up yet; keep the reason for the failure message
            last = error
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} within {timeout}s (last error: {last!r})")


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is missing: bin/test installs the Debian package postgresql"
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as root, run it as the Debian `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    def __init__(self, base: Path):
        self.dir = base / "postgres"
        self.dir.mkdir()
        self.data = self.dir / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        pgctl = _postgres_bin("pg_ctl")
        subprocess.run(
            _as_postgres(
                [
                    _postgres_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "annotator",
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [pgctl, "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w"]
                + ["start"]
            ),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://annotator:{self.password}@127.0.0.1:{self.port}/annotator"
        admin_url = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE annotator")

    def query(self, sql: str, *args) -> list[tuple]:
        with psycopg.connect(self.url) as connection:
            return connection.execute(sql, args).fetchall()

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )


class Redis:
    def __init__(self, base: Path):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: bin/test installs the Debian package redis-server"
        self.binary = binary
        self.dir = base
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_until(lambda: redis.Redis.from_url(self.url).ping(), 10, "Redis did not answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class Stack:
    base: Path
    env: dict
    postgres: Postgres
    redis: Redis
    url: str = ""
    web: subprocess.Popen | None = None
    workers: dict = field(default_factory=dict)
    token: str = ""

    # processes ---------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "a")  # noqa: SIM115 (the process owns it)
        return subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, timeout=120
        )

    def web_start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = self._spawn(
            "web",
            [sys.executable, "manage.py", "serve", "--port", str(port), "--proxy-headers"],
        )
        wait_until(
            lambda: httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200,
            90,
            "the web tier did not answer /healthz:\n" + self.log_tail("web"),
        )

    def worker_start(self, queue: str, name: str = "") -> subprocess.Popen:
        """A worker consuming `queue`, known (and logged) as `name`, by default the queue."""
        name = name or queue
        celery = str(Path(sys.executable).parent / "celery")
        process = self._spawn(
            f"worker-{name}",
            [celery, "-A", "annotator", "worker", "-Q", queue, "-P", POOLS.get(queue, "threads")]
            + ["-c", "1", "-n", f"{name}-{secrets.token_hex(3)}@localhost", "-l", "INFO"]
            + ["--without-mingle", "--without-gossip"],
        )
        self.workers[name] = process
        return process

    def worker_kill(self, name: str) -> None:
        process = self.workers.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def workers_wait_ready(self) -> None:
        for queue in self.workers:
            wait_until(
                lambda q=queue: "ready." in self.log_tail(f"worker-{q}", 100_000),
                90,
                f"the {queue} worker did not start:\n" + self.log_tail(f"worker-{queue}"),
            )

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
            for p in sorted(self.base.glob("*.log"))
        )

    def stop(self) -> None:
        for process in [self.web, *self.workers.values()]:
            if process and process.poll() is None:
                process.terminate()
        for process in [self.web, *self.workers.values()]:
            if process:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.redis.stop()
        self.postgres.stop()

    # clients -----------------------------------------------------------------------------

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Token {self.token}"}
        )

    def session_cookie(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        """Log in over a request the proxy marked https; the session id."""
        https = {"X-Forwarded-Proto": "https"}
        page = httpx.get(f"{self.url}/accounts/login/", headers=https, timeout=10)
        csrf = SimpleCookie(page.headers["set-cookie"])["csrftoken"].value
        response = httpx.post(
            f"{self.url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={
                **https,
                "Cookie": f"csrftoken={csrf}",
                "Referer": self.url.replace("http://", "https://") + "/accounts/login/",
            },
            timeout=10,
        )
        assert response.status_code == 302, response.text[:2000]
        cookies = SimpleCookie()
        for header in response.headers.get_list("set-cookie"):
            cookies.load(header)
        assert "Secure" in response.headers["set-cookie"] or "secure" in str(cookies)
        return cookies["sessionid"].value

    def websocket(self, project_id: int, cookie: str | None = None) -> ClientConnection:
        socket = connect(
            self.url.replace("http://", "ws://") + f"/ws/projects/{project_id}/",
            additional_headers={
                "Cookie": f"sessionid={cookie or self.session_cookie()}",
                "Origin": self.url.replace("http://", "https://"),
                "X-Forwarded-Proto": "https",
            },
            open_timeout=10,
        ).__enter__()
        hello = json.loads(socket.recv(timeout=10))
        assert hello["type"] == "hello", hello
        return socket


def stack_start(base: Path, extra_env: dict, click_workers: int = 2) -> Stack:
    """The whole stack; `click_workers` interactive workers, each owning a share of the
    images (ANNOTATOR_INTERACTIVE_WORKERS)."""
    postgres = Postgres(base)
    redis = Redis(base)
    env = {
        **os.environ,
        "ANNOTATOR_MODE": "production",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Tests speak plain HTTP on loopback; a TLS proxy would sit in front in a deployment.
        "SECURE_SSL_REDIRECT": "false",
        "ANNOTATOR_EMBEDDED_WORKER": "false",
        "ANNOTATOR_VAR_DIR": str(base / "var"),
        "ANNOTATOR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANNOTATOR_DEMO_PROJECT": "false",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "ANNOTATOR_INTERACTIVE_WORKERS": str(click_workers),
        **extra_env,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(base=base, env=env, postgres=postgres, redis=redis)
    try:
        stack.manage("migrate", "--noinput", "-v0")
        stack.manage("collectstatic", "--noinput", "-v0")
        shards = [f"interactive-{k}" for k in range(1, click_workers)]
        for queue in ["interactive", *shards, "gpu", "default"]:
            stack.worker_start(queue)
        stack.web_start()
        stack.workers_wait_ready()
        response = httpx.post(
            f"{stack.url}/api/auth/token/",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        stack.token = response.json()["token"]
    except BaseException:
        logs = stack.logs()
        stack.stop()
        raise AssertionError("the production stack did not start:\n" + logs) from None
    return stack


def temp_base() -> Path:
    # Not under pytest's private temp root: the postgres user must reach its data folder.
    base = Path(tempfile.mkdtemp(prefix="annotator-deploy-"))
    base.chmod(0o755)
    return base
