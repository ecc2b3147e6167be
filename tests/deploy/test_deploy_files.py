"""The deployment files parse and say what they must: the compose stack's services and the
worker's settings, Kubernetes objects that name themselves, resource limits, pinned images."""

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
    assert worker["build"]["dockerfile"] == "deploy/Dockerfile"
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
    assert {doc["kind"] for _, doc in docs} >= {"Deployment", "HorizontalPodAutoscaler", "ConfigMap", "Secret"}
    for path, doc in docs:
        for field in ("apiVersion", "kind"):
            assert doc.get(field), f"{path.name}: a document without {field}"
        assert doc.get("metadata", {}).get("name"), f"{path.name}: {doc['kind']} without metadata.name"


def _deployment() -> dict[str, Any]:
    return next(doc for _, doc in _k8s_docs() if doc["kind"] == "Deployment")


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
