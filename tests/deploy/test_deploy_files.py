"""The deployment files parse and say what they must: the compose stack's services and the
worker's settings, Kubernetes objects that name themselves and pass the Kubernetes API's schemas
(kubernetes-validate, bundled, no network), every process with its probes, resources and only
its own secrets, the migration and watchdog jobs, pinned images."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in sorted(K8S.glob("*.yaml")) for doc in _docs(path)]


def _images(node: Any) -> list[str]:
    """Every `image:` value anywhere in a parsed document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                found.append(value)
            else:
                found += _images(value)
    elif isinstance(node, list):
        for item in node:
            found += _images(item)
    return found


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_yaml_file_parses():
    assert YAML_FILES, f"no YAML under {DEPLOY}"
    for path in YAML_FILES:
        assert _docs(path), f"{path} is empty"


def test_compose_has_the_stack():
    services = _compose()["services"]
    for name in ("temporal-postgresql", "temporal", "temporal-ui", "cpplan-postgresql", "worker", "codec-server"):
        assert name in services, f"compose.yaml lacks the {name} service"
    assert services["temporal"]["image"].startswith("temporalio/")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_compose_worker_settings():
    services = _compose()["services"]
    worker = services["worker"]
    env = worker["environment"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["CPPLAN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@cpplan-postgresql:5432/" in env["CPPLAN_DATABASE_URL"]
    assert "CPPLAN_SMTP_URL" in env
    assert services["db-upgrade"]["build"]["dockerfile"] == "deploy/Dockerfile"  # built once, run by all
    assert worker["image"] == services["db-upgrade"]["image"]
    assert worker.get("command", ["cpplan", "worker"]) == ["cpplan", "worker"]
    # The read model has its own database server, not Temporal's.
    assert services["cpplan-postgresql"]["environment"]["POSTGRES_DB"] == "cpplan"


def test_compose_ui_decodes_through_the_codec_server():
    services = _compose()["services"]
    assert services["codec-server"]["command"][:2] == ["cpplan", "codec-server"]
    assert "--port" in services["codec-server"]["command"]
    assert "CPPLAN_CODEC_KEYS" in services["codec-server"]["environment"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"].startswith("http://localhost:8081")
    # The UI's settings are public: the endpoint it is given must not carry the token.
    assert "CPPLAN_CODEC_TOKEN" not in services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]


def test_k8s_objects_name_themselves():
    docs = _k8s_docs()
    assert {doc["kind"] for _, doc in docs} >= {
        "Deployment",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
        "Service",
        "Ingress",
        "PodDisruptionBudget",
        "Job",
    }
    for path, doc in docs:
        for field in ("apiVersion", "kind"):
            assert doc.get(field), f"{path.name}: a document without {field}"
        assert doc.get("metadata", {}).get("name"), f"{path.name}: {doc['kind']} without metadata.name"


def _deployment(name: str = "cpplan-worker") -> dict[str, Any]:
    return _object("Deployment", name)


def _object(kind: str, name: str) -> dict[str, Any]:
    return next(doc for _, doc in _k8s_docs() if doc["kind"] == kind and doc["metadata"]["name"] == name)


def _container(kind: str, name: str) -> dict[str, Any]:
    (container,) = _object(kind, name)["spec"]["template"]["spec"]["containers"]
    return container


def test_k8s_worker_deployment():
    deployment = _deployment()
    assert deployment["spec"]["replicas"] >= 1
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["cpplan", "worker"]
    resources = container["resources"]
    assert resources["limits"]["memory"] == "1Gi"
    assert resources["limits"]["cpu"] and resources["requests"]["cpu"] and resources["requests"]["memory"]

    env = {item["name"]: item for item in container.get("env", [])}
    assert env["TEMPORAL_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "cpplan-secrets"
    assert env["CPPLAN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "cpplan-secrets"
    assert env["CPPLAN_SMTP_URL"]["valueFrom"]["secretKeyRef"]["name"] == "cpplan-secrets"
    (config_ref,) = [ref["configMapRef"]["name"] for ref in container["envFrom"] if "configMapRef" in ref]
    config = next(doc for _, doc in _k8s_docs() if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == config_ref)
    assert {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} <= set(config["data"])

    # The mTLS client certificate is mounted from a Secret where the documented paths point.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    tls = volumes["temporal-tls"]["secret"]["secretName"]
    assert any(doc["kind"] == "Secret" and doc["metadata"]["name"] == tls for _, doc in _k8s_docs())
    configmap_text = (K8S / "configmap.yaml").read_text()
    for var in ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
        match = re.search(rf"{var}: \"([^\"]+)\"", configmap_text)
        assert match and match.group(1).startswith(mounts["temporal-tls"] + "/"), var


def test_k8s_autoscaler_targets_the_worker_on_cpu():
    hpa = next(doc for _, doc in _k8s_docs() if doc["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == _deployment()["metadata"]["name"]
    assert any(m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"] if m["type"] == "Resource")


def test_images_are_pinned():
    images = [image for path in YAML_FILES for doc in _docs(path) for image in _images(doc)]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    images += re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert images
    for image in images:
        name = image.rsplit("/", 1)[-1]
        assert ":" in name or "@sha256:" in image, f"{image} has no tag"
        assert not image.endswith(":latest"), f"{image} is not pinned"


def test_dockerfile_runs_the_worker_as_non_root():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11[\w.-]*-slim", text, flags=re.MULTILINE)
    assert re.search(r"^CMD \[\"cpplan\", \"worker\"\]\s*$", text, flags=re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0")), "the image must not run as root"


# `${VAR:?message}` (required) and `${VAR:-default}` / `${VAR}` interpolations in compose.yaml.
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])[^}]*)?\}")
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def test_compose_references_resolve():
    """What `docker compose config` checks beyond YAML, without needing docker: every service it
    depends on, named volume, bind-mounted directory and build file exists, and a condition on
    a dependency is one compose knows (a healthy one needs a healthcheck)."""
    compose = _compose()
    services = compose["services"]
    volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{name}: neither image nor build"
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on {dependency}, which is not a service"
            condition = (spec or {}).get("condition", "service_started")
            assert condition in DEPENDS_CONDITIONS, f"{name}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy"
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in volumes, f"{name}: volume {source} is not declared"
        if build := service.get("build"):
            context = COMPOSE.parent / build["context"]
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"


def test_compose_variables_without_a_default_are_documented_and_secrets_are_required():
    text = COMPOSE.read_text()
    example = (DEPLOY / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(\w+)=", example, flags=re.MULTILINE))
    found = INTERPOLATION.findall(text)
    assert found, "compose.yaml interpolates no variable"
    for name, operator in found:
        if operator != ":-":
            assert name in documented, f"${{{name}}} has no default and is not in deploy/.env.example"
        if name in {"CPPLAN_CODEC_KEYS", "CPPLAN_CODEC_TOKEN"}:
            assert operator == ":?", f"{name} must be required (${{{name}:?...}}), not defaulted"
    # Every `$` starts an interpolation (a literal dollar is written `$$`).
    assert len(re.findall(r"(?<!\$)\$(?!\$)", text)) == len(found)


def test_compose_registers_the_plans_search_attributes():
    from temporalio.common import SearchAttributeIndexedValueType as T

    from workflows.search_attributes import ALL

    script = (DEPLOY / "scripts" / "temporal-namespace.sh").read_text()
    registered = dict(re.findall(r"\b(\w+):(Keyword|Datetime|Int|Text|Bool|Double|KeywordList)\b", script))
    names = {
        T.KEYWORD: "Keyword",
        T.DATETIME: "Datetime",
        T.INT: "Int",
        T.TEXT: "Text",
        T.BOOL: "Bool",
        T.DOUBLE: "Double",
        T.KEYWORD_LIST: "KeywordList",
    }
    assert registered == {key.name: names[key.indexed_value_type] for key in ALL}


def test_the_image_installs_the_runtime_only_at_the_tested_versions():
    text = (DEPLOY / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\\\n]*)", text)
    assert installs and all("-c constraints.txt" in line for line in installs), installs
    assert not any(extra in line for line in installs for extra in ("[dev", "[test", "[report", ",test", ",dev"))
    assert "constraints.txt" in (DEPLOY / "Dockerfile.dockerignore").read_text()


def test_bytecode_is_compiled_at_build_and_install():
    """PYTHONDONTWRITEBYTECODE is set in the image: the sandbox would compile the workflow's
    modules from source for every plan unless the bytecode is made once beforehand."""
    assert "compileall" in (DEPLOY / "Dockerfile").read_text()
    assert "compileall" in (DEPLOY.parent / "Makefile").read_text()


K8S_VERSION = "1.30"


def test_k8s_files_pass_the_kubernetes_schemas():
    """Every object, strictly (no field the API does not know), against the schemas bundled in
    kubernetes-validate; and a misspelt field is caught, so the check is not vacuous."""
    import kubernetes_validate

    for path, doc in _k8s_docs():
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            raise AssertionError(f"{path.name} {doc['kind']} {doc['metadata']['name']}: {err.message}") from None
    broken = _deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    try:
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError:
        pass
    else:
        raise AssertionError("a misspelt field passed validation")


# The long-running processes: Deployment name, command, the port their probes ask.
PROCESSES = {
    "cpplan-worker": (["cpplan", "worker"], "health"),
    "cpplan-web": (["cpplan", "serve", "--host", "0.0.0.0", "--web-port", "8000"], "http"),
    "cpplan-codec-server": (["cpplan", "codec-server", "--host", "0.0.0.0", "--port", "8081"], "http"),
}


def test_k8s_runs_every_process_with_probes_and_resources():
    for name, (command, port) in PROCESSES.items():
        container = _container("Deployment", name)
        assert container["command"] == command, name
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}, name
        assert port in {p["name"] for p in container["ports"]}, name
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
    worker_env = {e["name"]: e.get("value") for e in _container("Deployment", "cpplan-worker")["env"]}
    health_port = next(p for p in _container("Deployment", "cpplan-worker")["ports"] if p["name"] == "health")
    assert worker_env["CPPLAN_WORKER_HEALTH_PORT"] == str(health_port["containerPort"])
    assert _configmap()["CPPLAN_ENV"] == "production"


def _configmap() -> dict[str, str]:
    return dict(_object("ConfigMap", "cpplan-config")["data"])


def test_k8s_services_ingress_and_disruption_budgets():
    for name in ("cpplan-web", "cpplan-codec-server"):
        service = _object("Service", name)
        labels = _object("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
    web = _object("Ingress", "cpplan-web")
    backend = web["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "cpplan-web" and web["spec"]["tls"]
    # The proxy refuses what the app would refuse: its request-body limit is the app's, 256 KB.
    assert web["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "256k"
    for name in ("cpplan-worker", "cpplan-web"):
        pdb = _object("PodDisruptionBudget", name)
        selected = _object("Deployment", name)["spec"]["selector"]["matchLabels"]
        assert pdb["spec"]["selector"]["matchLabels"] == selected and pdb["spec"]["minAvailable"] >= 1


def test_k8s_jobs_migrate_and_schedule_the_watchdog():
    upgrade = _container("Job", "cpplan-db-upgrade")
    assert upgrade["command"] == ["cpplan", "db", "upgrade"]
    schedule = _container("Job", "cpplan-watchdog-schedule")
    assert schedule["command"] == ["cpplan", "watchdog-schedule"]
    for job in ("cpplan-db-upgrade", "cpplan-watchdog-schedule"):
        assert _object("Job", job)["spec"]["template"]["spec"]["restartPolicy"] == "Never"


# Who holds which secret (deploy/README.md, "Who holds what"): each process only its own.
SECRETS_HELD = {
    ("Deployment", "cpplan-worker"): {
        "TEMPORAL_API_KEY",
        "CPPLAN_DATABASE_URL",
        "CPPLAN_SMTP_URL",
        "CPPLAN_CODEC_KEYS",
    },
    ("Deployment", "cpplan-web"): {
        "TEMPORAL_API_KEY",
        "CPPLAN_DATABASE_URL",
        "CPPLAN_CODEC_KEYS",
        "CPPLAN_WEB_SESSION_SECRET",
        "CPPLAN_OIDC_CLIENT_SECRET",
    },
    ("Deployment", "cpplan-codec-server"): {"CPPLAN_CODEC_KEYS", "CPPLAN_CODEC_TOKEN"},
    ("Job", "cpplan-db-upgrade"): {"CPPLAN_DATABASE_URL"},
    ("Job", "cpplan-watchdog-schedule"): {"TEMPORAL_API_KEY", "CPPLAN_CODEC_KEYS"},
}


def test_each_process_holds_only_its_own_secrets():
    secret = _object("Secret", "cpplan-secrets")
    listing = (K8S / "secret.example.yaml").read_text()
    for (kind, name), expected in SECRETS_HELD.items():
        container = _container(kind, name)
        held = {
            e["valueFrom"]["secretKeyRef"]["key"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert held == expected, f"{name} holds {sorted(held)}"
        assert not any("secretRef" in ref for ref in container.get("envFrom", [])), f"{name} takes a whole Secret"
        assert held <= set(secret["stringData"]), name
    # The example's header says the same, process by process.
    labels = {
        "worker": "cpplan-worker",
        "front door": "cpplan-web",
        "codec server": "cpplan-codec-server",
        "db-upgrade Job": "cpplan-db-upgrade",
        "watchdog Job": "cpplan-watchdog-schedule",
    }
    listed: dict[str, set[str]] = {}
    current = None
    for line in listing.split("Who holds which key", 1)[1].splitlines()[1:]:
        if not line.startswith("#"):
            break
        label = line[1:].strip().split("  ", 1)[0]
        current = labels.get(label, current)
        if current:
            listed.setdefault(current, set()).update(re.findall(r"\b[A-Z][A-Z_]+\b", line))
    assert listed == {name: keys for (_, name), keys in SECRETS_HELD.items()}
    # No secret in the ConfigMap every process reads.
    assert not set(_configmap()) & {key for keys in SECRETS_HELD.values() for key in keys}


def test_compose_runs_the_whole_product():
    services = _compose()["services"]
    assert services["db-upgrade"]["command"] == ["cpplan", "db", "upgrade"]
    assert services["watchdog-schedule"]["command"] == ["cpplan", "watchdog-schedule"]
    assert services["web"]["command"][:2] == ["cpplan", "serve"]
    for name in ("worker", "web"):
        assert services[name]["depends_on"]["db-upgrade"]["condition"] == "service_completed_successfully", name
        assert services[name]["environment"]["CPPLAN_ENV"] == "production", name
    for name, port in (("worker", 8090), ("web", 8000), ("codec-server", 8081)):
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]["test"]), name
    assert services["worker"]["environment"]["CPPLAN_WORKER_HEALTH_PORT"] == "8090"
    # The codec server holds no database or SMTP credentials.
    assert not {"CPPLAN_DATABASE_URL", "CPPLAN_SMTP_URL"} & set(services["codec-server"]["environment"])
