"""Failed sign-ins are limited per username and per client address, on the API token route,
the login page and the admin's login, in both the embedded cache and Redis."""

import re
import shutil
import subprocess
import time

import pytest
import redis
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.conftest import free_port

TOKEN = "/api/auth/token/"
ACCOUNT = re.compile(r"Too many failed sign-in attempts for this account; try again in (\d+) s\.")
ADDRESS = re.compile(r"Too many failed sign-in attempts from this address; try again in (\d+) s\.")


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    settings.ANNOTATOR_LOGIN_ATTEMPTS = 5
    settings.ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS = 20
    settings.ANNOTATOR_LOGIN_WINDOW_S = 300
    cache.clear()
    yield
    # Other tests sign in from the same address.
    cache.clear()


def token(username: str, password: str, address: str = "127.0.0.1"):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address
    )


def assert_locked(response, pattern=ACCOUNT, window: int = 300) -> None:
    assert response.status_code == 429, response.content
    match = pattern.fullmatch(response.json()["error"]["message"])
    assert match, response.json()
    assert match.group(1) == response["Retry-After"]
    assert 0 < int(response["Retry-After"]) <= window


def test_forty_wrong_passwords_are_refused_after_the_limit_and_so_is_the_right_one(make_user):
    make_user("anna")
    answers = [token("anna", f"guess-{i}") for i in range(40)]

    assert [a.status_code for a in answers[:5]] == [400] * 5
    for answer in answers[5:]:
        assert_locked(answer)
    assert_locked(token("anna", "pw-anna"))


def test_an_unknown_username_is_answered_exactly_like_a_real_one(make_user):
    make_user("anna")
    real = [token("anna", f"guess-{i}") for i in range(8)]
    unknown = [token("nobody", f"guess-{i}") for i in range(8)]

    def shape(response):
        return response.status_code, ACCOUNT.sub("…", response.json()["error"]["message"])

    assert [shape(a) for a in real] == [shape(a) for a in unknown]
    assert (
        unknown[0]
        .json()["error"]["message"]
        .endswith("Unable to log in with provided credentials.")
    )


def test_variants_of_a_username_share_one_count(make_user):
    make_user("anna")
    for name in ["anna", "Anna", "ANNA", "anna", "aNNa"]:
        assert token(name, "wrong").status_code == 400
    assert_locked(token("anna", "pw-anna"))


def test_a_success_resets_the_usernames_count(make_user):
    make_user("anna")
    for _ in range(4):
        token("anna", "wrong")
    assert token("anna", "pw-anna").status_code == 200

    assert [token("anna", "wrong").status_code for _ in range(6)] == [400] * 5 + [429]


def test_another_user_from_the_same_address_is_refused_past_the_address_limit(make_user, settings):
    settings.ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS = 8
    make_user("victor")
    for i in range(8):
        assert token(f"user-{i}", "spray-password").status_code == 400

    assert_locked(token("victor", "pw-victor"), ADDRESS)
    assert token("victor", "pw-victor", address="10.0.0.7").status_code == 200


def test_refusals_for_a_locked_account_do_not_use_up_the_address(make_user, settings):
    settings.ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS = 8
    make_user("victor")
    for _ in range(30):
        token("anna", "wrong")

    assert token("victor", "pw-victor").status_code == 200


def test_the_right_password_works_once_the_window_has_passed(make_user, settings, monkeypatch):
    # The clock moves only when the test says so: on a busy machine six password checks can
    # take longer than any short window.
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    settings.ANNOTATOR_LOGIN_WINDOW_S = 60
    make_user("anna")
    for _ in range(6):
        token("anna", "wrong")
    now[0] += 59
    assert_locked(token("anna", "pw-anna"), window=1)

    now[0] += 1.5
    assert token("anna", "pw-anna").status_code == 200


def test_the_login_page_shows_the_message_and_keeps_the_account_closed(make_user, client):
    make_user("anna")
    for _ in range(5):
        page = client.post("/accounts/login/", {"username": "anna", "password": "wrong"})
        assert page.status_code == 200
        assert "did not match" in page.content.decode()

    page = client.post("/accounts/login/", {"username": "anna", "password": "pw-anna"})
    assert page.status_code == 429
    assert ACCOUNT.search(page.content.decode())
    assert int(page["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_the_admin_login_counts_failures_and_shows_the_message(make_user, client):
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(3):
        client.post("/accounts/login/", {"username": "root", "password": "wrong"})
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})

    page = client.post("/admin/login/", {"username": "root", "password": "pw-root"})
    assert ACCOUNT.search(page.content.decode())
    assert "_auth_user_id" not in client.session


@pytest.fixture
def redis_cache(settings, tmp_path):
    """A real Redis server as the default cache, as in production."""
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port)]
        + ["--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    embedded = settings.CACHES
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    yield url
    cache.close()
    settings.CACHES = embedded
    server.terminate()
    server.wait(10)


def test_with_redis_the_count_is_shared_by_every_process(make_user, redis_cache, settings):
    make_user("anna")
    for _ in range(5):
        assert token("anna", "wrong").status_code == 400
    # Another web process: its own connections, the same Redis.
    cache.close()
    settings.CACHES = {**settings.CACHES}
    assert_locked(token("anna", "pw-anna"))
    assert redis.Redis.from_url(redis_cache).keys("*signin:user:*")
