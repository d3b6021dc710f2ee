"""compose.yaml, .env.example and the settings must agree on every variable."""

import re
import shutil
import subprocess
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


APP_SERVICES = ("web", "worker", "worker-gpu", "worker-interactive")


def test_docker_compose_accepts_the_file_with_the_documented_env(tmp_path):
    # Debian's docker-compose (v1) validates without a Docker engine; bin/test installs it.
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: bin/test installs the Debian package"
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    checked = subprocess.run(
        [binary, "-f", "compose.yaml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_app_services_start_after_the_migrations_and_restart_when_they_stop():
    services = compose()["services"]
    assert "collectstatic" in " ".join(services["migrate"]["command"])
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        service = services[name]
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
    for name in ("postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped"
        assert services[name]["healthcheck"]["test"]


def test_the_web_health_check_is_the_module_that_probes_healthz():
    web = compose()["services"]["web"]
    assert web["healthcheck"]["test"][1:4] == ["python", "-m", "annotator.healthcheck"]
    assert (ROOT / "annotator" / "healthcheck.py").exists()
    assert "--proxy-headers" in web["command"]


def test_each_worker_health_check_pings_its_own_hostname():
    services = compose()["services"]
    for name in ("worker", "worker-gpu", "worker-interactive"):
        command = services[name]["command"]
        hostname = command[command.index("--hostname") + 1].split("@")[0]
        assert f"-d {hostname}@$$HOSTNAME" in services[name]["healthcheck"]["test"][1], name


def test_the_image_installs_the_pinned_torch_and_sam2():
    dockerfile = (ROOT / "Dockerfile").read_text()
    install = (ROOT / "bin" / "lib" / "install.sh").read_text()
    torch_pin = re.search(r'"torch==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    sam2_pin = re.search(r'SAM2_VERSION="([^"]+)"', install).group(1)
    assert f'"torch=={torch_pin}"' in dockerfile
    assert f'"sam2=={sam2_pin}"' in dockerfile
    assert compose()["x-app"]["build"] == "."
