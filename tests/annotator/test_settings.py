import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from annotator.env import env_bool, env_int, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "Xq3-vT9_pL2mZ8wR4yN6bC1dF5gH7jK0aS2eU4iO6uY8tW3rE5qA9zX1cV7bN3mQ"


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANNOTATOR_", "DATABASE"))}
    clean.pop("SECRET_KEY", None)
    clean.pop("REDIS_URL", None)
    clean.update(
        {"ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    )
    clean.update(env)
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, "
        "settings.CHANNEL_LAYERS['default']['BACKEND'], settings.SESSION_COOKIE_SECURE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_embedded_mode_needs_no_variable(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "memory://",
        "channels.layers.InMemoryChannelLayer",
        "False",
    ]
    # The generated secret key is kept so sessions survive a restart.
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 40
    load_settings(tmp_path)
    assert (tmp_path / "secret_key").read_text() == key


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = load_settings(
        tmp_path,
        ANNOTATOR_MODE="production",
        DATABASE_URL="postgresql://u:p@db:5432/annotator",
        REDIS_URL="redis://redis:6379/0",
        ALLOWED_HOSTS="annotator.example.com",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_services(tmp_path, missing):
    env = {
        "ANNOTATOR_MODE": "production",
        "SECRET_KEY": GOOD_KEY,
        "DATABASE_URL": "postgresql://u:p@db:5432/annotator",
        "REDIS_URL": "redis://redis:6379/0",
        "ALLOWED_HOSTS": "annotator.example.com",
    }
    del env[missing]
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_uses_postgres_redis_and_secure_cookies(tmp_path):
    result = load_settings(
        tmp_path,
        ANNOTATOR_MODE="production",
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL="postgresql://u:p@db:5432/annotator",
        REDIS_URL="redis://redis:6379/0",
        ALLOWED_HOSTS="annotator.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://redis:6379/0",
        "channels_redis.core.RedisChannelLayer",
        "True",
    ]


def test_production_refuses_a_weak_secret_key(tmp_path):
    result = load_settings(
        tmp_path,
        ANNOTATOR_MODE="production",
        SECRET_KEY="ab" * 40,
        DATABASE_URL="postgresql://u:p@db:5432/annotator",
        REDIS_URL="redis://redis:6379/0",
        ALLOWED_HOSTS="annotator.example.com",
    )
    assert "SECRET_KEY must be set" in result.stderr


def test_an_unknown_mode_is_refused(tmp_path):
    result = load_settings(tmp_path, ANNOTATOR_MODE="staging")
    assert "ANNOTATOR_MODE must be" in result.stderr


def test_database_url_is_parsed_with_escapes():
    parsed = parse_database_url(
        "postgresql://ann%40x:p%3Ass@db.local:6543/annotator?sslmode=require"
    )
    assert (parsed.user, parsed.password, parsed.host, parsed.port, parsed.name) == (
        "ann@x",
        "p:ss",
        "db.local",
        "6543",
        "annotator",
    )
    assert parsed.options == {"sslmode": "require"}


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "postgresql://u:p@h:5432/"])
def test_a_database_url_that_is_not_postgres_or_names_no_database_is_refused(url):
    with pytest.raises(ImproperlyConfigured):
        parse_database_url(url)


def test_env_helpers_fail_loudly_on_malformed_values(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    monkeypatch.setenv("X_COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")
    with pytest.raises(ImproperlyConfigured, match="X_COUNT"):
        env_int("X_COUNT", 1)


def test_production_settings_pass_the_deployment_checks(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANNOTATOR_", "DATABASE"))}
    env.update(
        ANNOTATOR_MODE="production",
        ANNOTATOR_VAR_DIR=str(tmp_path),
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL="postgresql://u:p@127.0.0.1:1/annotator",
        REDIS_URL="redis://127.0.0.1:1/0",
        ALLOWED_HOSTS="annotator.example.com",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
