"""The deploy files agree with the code: every service is deployable and configured by its settings.

No Docker or Kubernetes here: the files are parsed and checked against each
service's settings class (its env prefix, fields and default port).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from revline_service.devstack import discover_services, env_prefix, settings_class
from revline_service.settings import SHARED

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = discover_services(ROOT)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def default_port(service: str) -> int:
    port: int = settings_class(service).model_fields["port"].default
    return port


def unknown_settings(service: str, variables: list[str]) -> list[str]:
    """The variables that no field of the service's settings reads."""
    cls = settings_class(service)
    prefix = env_prefix(cls)
    unknown = []
    for variable in variables:
        if variable.startswith(prefix):
            known = variable[len(prefix) :].lower() in cls.model_fields
        elif variable.startswith("REVLINE_"):
            known = variable.removeprefix("REVLINE_").lower() in SHARED
        else:
            known = False
        if not known:
            unknown.append(variable)
    return unknown


def database_of(url: str) -> tuple[str, str]:
    """(user, database) of a SQLAlchemy URL that may hold ${VAR:-default} parts."""
    match = re.fullmatch(r"postgresql\+asyncpg://([^:@/]+)(?::[^@]*)?@[^/]+/([^/?]+)(\?.*)?", url)
    assert match is not None, f"not a PostgreSQL URL: {url}"
    return match[1], match[2]


def test_there_are_services_to_check() -> None:
    assert SERVICES, "no services/*/pyproject.toml found"


# -- docker compose ----------------------------------------------------------------------------


def test_compose_runs_kafka_in_kraft_mode_without_zookeeper() -> None:
    services = compose()["services"]
    assert not [name for name, svc in services.items() if "zookeeper" in str(svc).lower()]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    listeners = {entry.split("://")[0] for entry in env["KAFKA_LISTENERS"].split(",")}
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listeners
    assert "healthcheck" in kafka


def test_compose_runs_postgresql_15_with_the_database_init_script() -> None:
    postgres = compose()["services"]["postgres"]
    assert postgres["image"].split(":")[1].split(".")[0] == "15"
    mounts = [volume.split(":") for volume in postgres["volumes"]]
    initdb = "/docker-entrypoint-initdb.d/"
    scripts = [host for host, target, *_ in mounts if target.startswith(initdb)]
    assert scripts == ["./postgres/init.sh"]
    assert (DEPLOY / "postgres" / "init.sh").is_file()
    assert "healthcheck" in postgres


@pytest.mark.parametrize("service", SERVICES)
def test_compose_migrates_each_service_before_serving_it(service: str) -> None:
    services = compose()["services"]
    assert service in services, f"deploy/docker-compose.yml has no service {service}"
    serve, migrate = services[service], services[f"{service}-migrate"]
    assert serve["command"] == ["serve"]
    assert migrate["command"] == ["migrate"]
    for entry in (serve, migrate):
        assert entry["build"]["dockerfile"] == f"services/{service}/Dockerfile"
        assert (DEPLOY / entry["build"]["context"]).resolve() == ROOT
    assert serve["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        f"{service}-migrate": {"condition": "service_completed_successfully"},
    }
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    port = default_port(service)
    assert f"{port}:{port}" in serve["ports"]
    assert serve["environment"][f"{env_prefix(settings_class(service))}PORT"] == str(port)
    assert "/readyz" in " ".join(serve["healthcheck"]["test"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_compose_variable_is_a_setting_of_its_service(service: str) -> None:
    services = compose()["services"]
    for name in (service, f"{service}-migrate"):
        assert unknown_settings(service, list(services[name]["environment"])) == []


def test_each_service_has_its_own_database_and_role() -> None:
    services = compose()["services"]
    init_script = (DEPLOY / "postgres" / "init.sh").read_text()
    created = re.search(r'^REVLINE_DATABASES="([^"]*)"', init_script, re.MULTILINE)
    assert created is not None
    databases: dict[str, str] = {}
    for service in SERVICES:
        prefix = env_prefix(settings_class(service))
        for name in (service, f"{service}-migrate"):
            user, database = database_of(services[name]["environment"][f"{prefix}DATABASE_URL"])
            assert user == database, "each service logs in as the role owning its database"
            assert database in created[1].split(), f"init.sh does not create {database}"
            assert databases.setdefault(service, database) == database
    assert len(set(databases.values())) == len(databases), f"databases shared: {databases}"


# -- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions(service: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and ARG defaults substituted."""
    text = (ROOT / "services" / service / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    args: dict[str, str] = {}
    instructions = []
    for line in filter(None, (raw.strip() for raw in joined.splitlines())):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip()
        for name, value in args.items():
            rest = rest.replace(f"${{{name}}}", value)
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_installs_pinned_hashes_and_runs_as_non_root(service: str) -> None:
    instructions = dockerfile_instructions(service)
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    assert any("--require-hashes" in run and "requirements.lock" in run for run in runs)
    assert [rest for keyword, rest in instructions if keyword == "FROM"][-1] == "python:3.11-slim"
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users, "no USER: the service would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_exposes_the_settings_port_with_a_healthcheck(service: str) -> None:
    instructions = dockerfile_instructions(service)
    port = default_port(service)
    assert ("EXPOSE", str(port)) in instructions
    envs = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert f"{env_prefix(settings_class(service))}PORT={port}" in envs
    assert f"REVLINE_SERVICE={service}" in envs
    healthchecks = [rest for keyword, rest in instructions if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0]
    assert ("CMD", '["serve"]') in instructions


# -- Kubernetes --------------------------------------------------------------------------------


def manifests(service: str) -> list[dict[str, Any]]:
    folder = DEPLOY / "k8s" / service
    assert folder.is_dir(), f"no {folder.relative_to(ROOT)}"
    return [
        document
        for path in sorted(folder.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def one(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port, resolving a named container port."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    return int(named[port])


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_probes_readyz_and_healthz_on_the_settings_port(service: str) -> None:
    deployment = one(manifests(service), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port = default_port(service)
    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert liveness["path"] == "/healthz"
    assert container_port(container, readiness["port"]) == port
    assert container_port(container, liveness["port"]) == port
    assert container["args"] == ["serve"]
    assert {"requests", "limits"} <= set(container["resources"])
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_job_and_config_fit_the_deployment(service: str) -> None:
    documents = manifests(service)
    deployment = one(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    svc = one(documents, "Service")
    assert (
        svc["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert [container_port(container, p["targetPort"]) for p in svc["spec"]["ports"]] == [
        default_port(service)
    ]
    job = one(documents, "Job")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["migrate"]
    assert migrate["image"] == container["image"]
    assert migrate["envFrom"] == container["envFrom"]
    config = one(documents, "ConfigMap")
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]
    assert unknown_settings(service, list(config["data"])) == []
    assert config["data"][f"{env_prefix(settings_class(service))}MIGRATE_ON_START"] == "false"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_kustomization_lists_every_manifest(service: str) -> None:
    folder = DEPLOY / "k8s" / service
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    files = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


@pytest.mark.parametrize("service", SERVICES)
def test_service_readme_documents_every_setting(service: str) -> None:
    readme = (ROOT / "services" / service / "README.md").read_text()
    cls = settings_class(service)
    prefix = env_prefix(cls)
    missing = [
        name
        for name in cls.model_fields
        if f"`{prefix}{name.upper()}`" not in readme and f"`REVLINE_{name.upper()}`" not in readme
    ]
    assert missing == [], f"services/{service}/README.md does not document {missing}"
