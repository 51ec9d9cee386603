"""The Kubernetes manifests as `kubectl apply -k` would send them: valid against the API schemas,
probed, bounded, locked down, and wired to the ports and the database the services really use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

Manifest = dict[str, Any]
MODES = ("sim", "paper", "live")
K8S_VERSION = "1.35.0"  # a recent release among the schemas kubernetes-validate ships
TARGETS = ("base", *MODES)
TMP = "/tmp"  # noqa: S108 - the mount path the manifests must give an emptyDir, not a file we write
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "CronJob", "Job")


def pod_templates(docs: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    """(workload, pod template) for every object that runs pods."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield doc, doc["spec"]["template"]
        elif doc["kind"] == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]


def all_containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


SARATHI_COMPONENTS = ("trading", "emulator")


def deployments(docs: list[Manifest]) -> dict[str, Manifest]:
    """The Deployments of Sarathi's own services (the emulator and the trading services)."""
    return {
        doc["metadata"]["name"]: doc
        for doc in docs
        if doc["kind"] == "Deployment"
        and doc["metadata"]["labels"]["app.kubernetes.io/component"] in SARATHI_COMPONENTS
    }


def main_container(deployment: Manifest) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = (c for c in containers if c["name"] == deployment["metadata"]["name"])
    return dict(container)


def container_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = (p["containerPort"] for p in container["ports"] if p["name"] == port)
    return int(number)


@pytest.mark.parametrize("target", TARGETS)
def test_every_manifest_validates_against_the_kubernetes_schemas(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    docs = rendered[target]
    assert docs
    problems: list[str] = []
    for doc in docs:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{name}: {path}: {error.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
            problems.append(f"{name}: {error.message}")
    assert not problems, "\n".join(problems)


def test_no_secret_is_committed_anywhere_under_deploy(
    repo: Path, rendered: dict[str, list[Manifest]]
) -> None:
    helm_templates = repo / "deploy" / "helm" / "sarathi" / "templates"
    for path in sorted((repo / "deploy").rglob("*.y*ml")):
        if helm_templates in path.parents:
            continue  # Go templates, not YAML: test_helm.py checks that no mode renders a Secret
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                assert doc.get("kind") != "Secret", f"{path} holds a Secret"
                assert "secretGenerator" not in doc, f"{path} generates a Secret from committed data"
    for target, docs in rendered.items():
        assert not [doc for doc in docs if doc["kind"] == "Secret"], f"{target} renders a Secret"


@pytest.mark.parametrize("target", TARGETS)
def test_everything_lives_in_the_sarathi_namespace_under_the_restricted_pod_security_standard(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    docs = rendered[target]
    (namespace,) = (doc for doc in docs if doc["kind"] == "Namespace")
    assert namespace["metadata"]["name"] == "sarathi"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "sarathi", f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_has_liveness_on_healthz_and_readiness_on_readyz_at_its_service_port(
    rendered: dict[str, list[Manifest]], target: str, ports: dict[str, int]
) -> None:
    found = deployments(rendered[target])
    assert found
    for name, deployment in found.items():
        container = main_container(deployment)
        liveness, readiness = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
        assert liveness["path"] == "/healthz", name
        assert readiness["path"] == "/readyz", name
        assert container_port(container, liveness["port"]) == ports[name], name
        assert container_port(container, readiness["port"]) == ports[name], name


@pytest.mark.parametrize("target", TARGETS)
def test_every_container_has_resource_requests_and_limits(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    for workload, template in pod_templates(rendered[target]):
        for container in all_containers(template["spec"]):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    f"{workload['metadata']['name']}/{container['name']} has no {bound}"
                )


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_runs_non_root_read_only_without_capabilities(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    templates = list(pod_templates(rendered[target]))
    assert {workload["kind"] for workload, _ in templates} >= {"Deployment", "StatefulSet", "CronJob"}
    for workload, template in templates:
        name, spec = workload["metadata"]["name"], template["spec"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod.get("runAsUser", 1) != 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), name
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], name
        assert spec["automountServiceAccountToken"] is False, f"{name} does not talk to the API server"
        for container in all_containers(spec):
            context = container["securityContext"]
            label = f"{name}/{container['name']}"
            assert context["allowPrivilegeEscalation"] is False, label
            assert context["readOnlyRootFilesystem"] is True, label
            assert context["capabilities"]["drop"] == ["ALL"], label
            assert "add" not in context["capabilities"], label
            assert not context.get("privileged"), label
            assert context.get("runAsUser", 1) != 0, label


@pytest.mark.parametrize("target", TARGETS)
def test_sarathi_containers_write_only_to_an_empty_dir_tmp(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    for workload, template in pod_templates(rendered[target]):
        spec = template["spec"]
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for container in all_containers(spec):
            if not container["image"].startswith("sarathi/"):
                continue
            (tmp,) = (m for m in container.get("volumeMounts", []) if m["mountPath"] == TMP)
            assert "emptyDir" in volumes[tmp["name"]], f"{workload['metadata']['name']}/{container['name']}"


@pytest.mark.parametrize("target", TARGETS)
def test_orders_runs_exactly_one_pod_and_never_two_at_once(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    orders = deployments(rendered[target])["orders"]
    assert orders["spec"]["replicas"] == 1
    assert orders["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_runs_its_module_from_its_image(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    for name, deployment in deployments(rendered[target]).items():
        container = main_container(deployment)
        assert container["image"] == f"sarathi/{name}:latest", name
        assert container["command"] == ["python", "-m", f"sarathi.{name}"], name
        assert deployment["spec"]["template"]["spec"]["enableServiceLinks"] is False, name


@pytest.mark.parametrize("target", TARGETS)
def test_each_deployment_has_a_service_on_its_port_and_is_annotated_for_scraping(
    rendered: dict[str, list[Manifest]], target: str, ports: dict[str, int]
) -> None:
    services = {doc["metadata"]["name"]: doc for doc in rendered[target] if doc["kind"] == "Service"}
    for name, deployment in deployments(rendered[target]).items():
        template = deployment["spec"]["template"]
        service = services[name]
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items(), name
        (port,) = service["spec"]["ports"]
        assert port["port"] == ports[name], name
        assert container_port(main_container(deployment), port["targetPort"]) == ports[name], name
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(ports[name]), name
        assert annotations["prometheus.io/path"] == "/metrics", name


@pytest.mark.parametrize("target", TARGETS)
def test_database_users_migrate_first_and_are_the_only_pods_admitted_to_postgres(
    rendered: dict[str, list[Manifest]], target: str, database_users: set[str]
) -> None:
    for name, deployment in deployments(rendered[target]).items():
        template = deployment["spec"]["template"]
        labelled = template["metadata"]["labels"].get("sarathi.dev/database") == "true"
        env = {e["name"]: e for e in main_container(deployment).get("env", [])}
        init = {c["name"]: c for c in template["spec"].get("initContainers", [])}
        if name in database_users:
            assert labelled, f"{name} uses the database but the postgres policy would not admit it"
            secret = env["SARATHI_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": "sarathi-postgres", "key": "SARATHI_DATABASE_URL"}, name
            assert init["migrate"]["command"] == ["python", "-m", "sarathi.common.db.migrate", "upgrade"], (
                name
            )
            assert init["migrate"]["image"] == main_container(deployment)["image"], name
        else:
            assert not labelled, f"{name} does not use the database: least privilege"
            assert "SARATHI_DATABASE_URL" not in env, name
            assert "migrate" not in init, name


@pytest.mark.parametrize("target", TARGETS)
def test_nats_and_postgres_keep_their_data_on_volume_claims(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    docs = rendered[target]
    stateful = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "StatefulSet"}
    services = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    assert set(stateful) == {"nats", "postgres"}
    for name, port in (("nats", 4222), ("postgres", 5432)):
        assert stateful[name]["spec"]["replicas"] == 1
        (claim,) = stateful[name]["spec"]["volumeClaimTemplates"]
        mounts = stateful[name]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert claim["metadata"]["name"] in {m["name"] for m in mounts}
        assert port in {p["port"] for p in services[name]["spec"]["ports"]}
    (nats_config,) = (
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("nats")
    )
    assert "jetstream {" in nats_config["data"]["nats.conf"]
    assert "store_dir: /data" in nats_config["data"]["nats.conf"]


@pytest.mark.parametrize("target", TARGETS)
def test_instrument_sync_runs_on_weekday_mornings_before_the_open(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    (cronjob,) = (doc for doc in rendered[target] if doc["kind"] == "CronJob")
    assert cronjob["spec"]["timeZone"] == "Asia/Kolkata"
    minute, hour, day, month, weekdays = cronjob["spec"]["schedule"].split()
    assert (int(hour), int(minute)) < (9, 15), "before the 09:15 IST open"
    assert (day, month, weekdays) == ("*", "*", "1-5")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = template["spec"]["containers"]
    # What `sarathi instruments sync` runs; the image has no `sarathi` CLI (test_image_commands.py).
    assert container["command"] == ["python", "-m", "sarathi.execution.refdata", "sync"]
    assert template["metadata"]["labels"]["sarathi.dev/database"] == "true", "it writes reference data"


@pytest.mark.parametrize("target", TARGETS)
def test_every_path_a_service_writes_to_is_on_a_persistent_volume(
    rendered: dict[str, list[Manifest]], target: str, file_settings: dict[str, list[str]]
) -> None:
    for name, deployment in deployments(rendered[target]).items():
        spec = deployment["spec"]["template"]["spec"]
        claims = {v["name"] for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
        container = main_container(deployment)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        for variable in file_settings[name]:
            path = env.get(variable)
            assert path, f"{name}: {variable} is not set, so it points into the read-only image"
            assert any(
                path.startswith(f"{mount['mountPath']}/") and mount["name"] in claims
                for mount in container.get("volumeMounts", [])
            ), f"{name}: {path} is not on a persistent volume"


@pytest.mark.parametrize("target", TARGETS)
def test_deployments_with_a_read_write_once_claim_are_recreated_not_rolled(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    docs = rendered[target]
    claims = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "PersistentVolumeClaim"}
    for name, deployment in deployments(docs).items():
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claim = claims[volume["persistentVolumeClaim"]["claimName"]]
                assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
                assert deployment["spec"]["strategy"] == {"type": "Recreate"}, (
                    f"{name} would deadlock a rollout"
                )


@pytest.mark.parametrize("target", TARGETS)
def test_feed_signals_and_execution_record_the_day_in_one_layout_on_claims_of_their_own(
    rendered: dict[str, list[Manifest]],
    target: str,
    recording_directory: Callable[[list[Manifest]], str],
    repo: Path,
) -> None:
    """`sarathi backtest --recording DIR` replays a day from the three services' files in one
    directory. A ReadWriteOnce claim is not shared across nodes, so each records on its own claim at
    the same path, and deploy/README.md gathers the three into one directory."""
    directory = recording_directory(rendered[target])
    readme = (repo / "deploy" / "README.md").read_text()
    assert directory in readme, f"deploy/README.md does not say where the pods record ({directory})"
