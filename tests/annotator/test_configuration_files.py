"""compose.yaml, .env.example and the settings must agree on every variable."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
READER = re.compile(r"""env_(?:str|bool|int|list|path|paths)\(\s*["']([A-Z0-9_]+)["']""")


def variables_read_by_settings() -> set[str]:
    names = set()
    for path in (ROOT / "annotator").glob("*.py"):
        names |= set(READER.findall(path.read_text()))
    return names


def variables_documented() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_every_variable_the_settings_read_is_documented():
    undocumented = variables_read_by_settings() - variables_documented()
    assert not undocumented, f"add to .env.example: {sorted(undocumented)}"


def test_every_documented_variable_is_read_somewhere():
    # POSTGRES_PASSWORD is the database container's own variable.
    unread = variables_documented() - variables_read_by_settings() - {"POSTGRES_PASSWORD"}
    assert not unread, f"documented but never read: {sorted(unread)}"


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker-gpu", "worker", "migrate"} <= set(services)
    assert "name" not in compose(), "docker-compose v1 rejects a top-level name"


def test_compose_sets_only_variables_the_settings_read():
    read = variables_read_by_settings()
    for name, service in compose()["services"].items():
        if name in {"postgres", "redis"}:
            continue
        assert service["environment"]["ANNOTATOR_MODE"] == "production"
        assert set(service["environment"]) <= read, name


def test_compose_workers_consume_the_queues_the_settings_route_to():
    from django.conf import settings

    services = compose()["services"]
    queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    queues.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    consumed = set()
    for name in (n for n in services if n.startswith("worker")):
        command = services[name]["command"]
        consumed |= set(command[command.index("-Q") + 1].split(","))
    assert queues <= consumed


def test_the_gpu_worker_reserves_a_gpu_and_keeps_models_in_a_volume():
    worker = compose()["services"]["worker-gpu"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert any(volume.endswith(":/models") for volume in worker["volumes"])
    assert worker["environment"]["ANNOTATOR_MODEL_DIR"] == "/models"
