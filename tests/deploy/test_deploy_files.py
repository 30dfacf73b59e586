"""The deploy files agree with the code: every service is deployable and configured by its settings.

No Docker or Kubernetes here: the files are parsed and checked against each
service's settings class (its env prefix, fields and default port).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from revline_service.settings import SHARED
from revline_testkit.devstack import discover_services, env_prefix, settings_class

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


# -- what an image ships --------------------------------------------------------------------

# The test and dev kit (broker, throwaway PostgreSQL, pytest plugin, live-service
# harness, dev stack): in the workspace, never in an image.
TESTKIT_DIR = "libs/testkit"
TESTKIT_PACKAGE = "revline_testkit"
# What an image may hold of the workspace: any library but the test kit, and its service.
SHIPPED_LIBS = {
    f"libs/{path.parent.name}/"
    for path in ROOT.glob("libs/*/pyproject.toml")
    if f"libs/{path.parent.name}" != TESTKIT_DIR
}


def production_sources() -> list[Path]:
    """Every Python file an image may ship: the libraries' packages (the test kit's aside),
    each service's package and alembic/."""
    folders = [
        package
        for package in ROOT.glob("libs/*/revline_*")
        if package.is_dir() and package.name != TESTKIT_PACKAGE
    ]
    for service in SERVICES:
        folders += [ROOT / "services" / service / service, ROOT / "services" / service / "alembic"]
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """The absolute module names a file imports (import x.y / from x.y import z)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_copies_no_test_or_dev_package(service: str) -> None:
    instructions = dockerfile_instructions(service)
    copied = [
        rest.split()[0]
        for keyword, rest in instructions
        if keyword == "COPY" and not rest.startswith("--from")
    ]
    libs = [source for source in copied if source.startswith("libs/")]
    assert libs and set(libs) <= set(SHIPPED_LIBS), libs
    assert not [source for source in copied if TESTKIT_DIR in source or source in (".", "libs")]
    envs = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert TESTKIT_DIR not in envs
    ignore = (ROOT / "services" / service / "Dockerfile.dockerignore").read_text()
    assert f"!{TESTKIT_DIR}" not in ignore


def test_production_packages_import_nothing_from_the_testkit() -> None:
    sources = production_sources()
    assert len(sources) > 40, "the production sources were not found"
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            module for module in imported_modules(path) if module.split(".")[0] == TESTKIT_PACKAGE
        )
        for path in sources
    }
    assert {path: found for path, found in offenders.items() if found} == {}
    # No import by name either (importlib, -m): the package is not even mentioned.
    mentions = [str(p.relative_to(ROOT)) for p in sources if TESTKIT_PACKAGE in p.read_text()]
    assert mentions == []


# Imports every module an image ships with the test kit made unimportable.
_IMPORT_WITHOUT_TESTKIT = """
import importlib, importlib.abc, pkgutil, sys

class NoTestkit(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "revline_testkit":
            raise ImportError(f"{name} is not in a production image")
        return None

sys.meta_path.insert(0, NoTestkit())
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        if not info.name.endswith(".__main__"):  # __main__ runs the CLI
            importlib.import_module(info.name)
print("imported", len(sys.modules))
"""


def test_every_shipped_module_imports_without_the_testkit() -> None:
    libraries = sorted(p.name for p in ROOT.glob("libs/*/revline_*") if p.is_dir())
    packages = [name for name in libraries if name != TESTKIT_PACKAGE] + SERVICES
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_WITHOUT_TESTKIT, *packages],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("imported")


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


# -- what the issue lists, checked one by one ------------------------------------------------


def init_script_databases() -> list[str]:
    init_script = (DEPLOY / "postgres" / "init.sh").read_text()
    created = re.search(r'^REVLINE_DATABASES="([^"]*)"', init_script, re.MULTILINE)
    assert created is not None
    return created[1].split()


def test_compose_runs_every_service_and_postgres_makes_a_role_for_each() -> None:
    services = compose()["services"]
    assert {*SERVICES, *(f"{name}-migrate" for name in SERVICES)} <= set(services)
    assert sorted(init_script_databases()) == sorted(SERVICES), "one database per service"
    # init.sh refuses to create a role whose <NAME>_DB_PASSWORD is unset.
    postgres_env = services["postgres"]["environment"]
    assert [
        f"{name.upper()}_DB_PASSWORD"
        for name in init_script_databases()
        if f"{name.upper()}_DB_PASSWORD" not in postgres_env
    ] == []


def secret_keys(service: str) -> dict[str, str]:
    """The keys of deploy/k8s/<service>/secrets.env.example (the Secret the operator makes)."""
    path = DEPLOY / "k8s" / service / "secrets.env.example"
    assert path.is_file(), f"no {path.relative_to(ROOT)}"
    pairs = [
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {key: value for key, value in pairs}


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_secret_holds_the_database_url_and_keys_and_the_config_none(service: str) -> None:
    documents = manifests(service)
    secrets = secret_keys(service)
    prefix = env_prefix(settings_class(service))
    assert set(secrets) == {f"{prefix}DATABASE_URL", "REVLINE_API_KEYS"}
    assert unknown_settings(service, list(secrets)) == []
    assert database_of(secrets[f"{prefix}DATABASE_URL"]) == (service, service)
    config = one(documents, "ConfigMap")
    assert not set(config["data"]) & set(secrets), "a secret in the ConfigMap"
    secret_ref = {"secretRef": {"name": f"{service}-secrets"}}
    deployment = one(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert secret_ref in container["envFrom"]
    (migrate,) = one(documents, "Job")["spec"]["template"]["spec"]["containers"]
    assert secret_ref in migrate["envFrom"]


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_pods_have_a_startup_probe_resources_and_run_as_non_root(service: str) -> None:
    documents = manifests(service)
    for kind in ("Deployment", "Job"):
        pod = one(documents, kind)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True, kind
        assert pod["securityContext"]["runAsUser"] != 0, kind
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, kind
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (kind, bound)
    deployment = one(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    startup = container["startupProbe"]["httpGet"]
    assert startup["path"] == "/healthz"
    assert container_port(container, startup["port"]) == default_port(service)


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_the_dockerfile_sets_for_the_service_is_a_setting(service: str) -> None:
    envs = " ".join(rest for keyword, rest in dockerfile_instructions(service) if keyword == "ENV")
    names = [pair.split("=", 1)[0] for pair in envs.split() if "=" in pair]
    prefix = env_prefix(settings_class(service))
    ours = [name for name in names if name.startswith((prefix, "REVLINE_"))]
    assert f"{prefix}PORT" in ours
    assert unknown_settings(service, [n for n in ours if n != "REVLINE_SERVICE"]) == []
