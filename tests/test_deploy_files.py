"""The deployment files stay true to the settings the server reads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.config import SETTINGS_DOC

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_the_server_with_postgresql_and_redis() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"server", "postgres", "redis"} <= set(services)
    environment = services["server"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql")
    assert environment["REDIS_URL"].startswith("redis://")
    known = {name for name, _, _ in SETTINGS_DOC}
    assert set(environment) <= known, set(environment) - known


def test_compose_has_a_turn_server_sharing_the_servers_secret() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    coturn = " ".join(services["coturn"]["command"])
    assert "--use-auth-secret" in coturn and "${PHONGHOP_TURN_SECRET" in coturn
    environment = services["server"]["environment"]
    assert "PHONGHOP_TURN_SECRET" in environment["PHONGHOP_TURN_SECRET"]
    assert ":3478" in environment["PHONGHOP_TURN_URL"] and "--listening-port=3478" in coturn


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, _, _ in SETTINGS_DOC:
        assert re.search(rf"`{name}`", readme), name


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")
