"""The Kubernetes overlays: each mode's settings, the emulator only where it belongs, the secrets
each mode requires (live: credentials and the arming switch), and the network policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import HOLIDAYS_CSV, HOLIDAYS_PATH, HolidaysFile, holidays_overlay, k8s_holidays, render

Manifest = dict[str, Any]
MODES = ("sim", "paper", "live")
K8S_VERSION = "1.35.0"  # as test_k8s_manifests.py
TARGETS = ("base", *MODES)
SIM_URLS = ("http://sim:8600/v2", "ws://sim:8600/feed", "ws://sim:8600/order-update")
DHAN_URLS = ("https://api.dhan.co/v2", "wss://api-feed.dhan.co", "wss://api-order-update.dhan.co")
EXPECTED_ENDPOINTS = {  # (REST, feed, order update) per mode
    "sim": SIM_URLS,
    "paper": (SIM_URLS[0], DHAN_URLS[1], SIM_URLS[2]),
    "live": DHAN_URLS,
}
DHAN_MASTER = "https://images.dhan.co/api-data/api-scrip-master-detailed.csv"
EXPECTED_MASTER = {  # what execution's daily sync and the instrument-sync CronJob download
    "sim": "http://sim:8600/api-data/api-scrip-master-detailed.csv",
    "paper": DHAN_MASTER,
    "live": DHAN_MASTER,
}


def settings(docs: list[Manifest]) -> dict[str, str]:
    (config,) = (
        doc
        for doc in docs
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("sarathi-config")
    )
    return dict(config["data"])


def pod_template(doc: Manifest) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return dict(doc["spec"]["jobTemplate"]["spec"]["template"])
    return dict(doc["spec"]["template"])


def secret_refs(container: dict[str, Any]) -> dict[str, bool]:
    """Secret name → optional, over the container's envFrom."""
    return {
        source["secretRef"]["name"]: bool(source["secretRef"].get("optional", False))
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }


def trading_containers(docs: list[Manifest]) -> dict[str, dict[str, Any]]:
    """The main container of every trading Deployment, and the instrument-sync job's."""
    return {
        doc["metadata"]["name"]: pod_template(doc)["spec"]["containers"][0]
        for doc in docs
        if doc["kind"] == "CronJob"
        or (
            doc["kind"] == "Deployment"
            and doc["metadata"]["labels"]["app.kubernetes.io/component"] == "trading"
        )
    }


@pytest.mark.parametrize("mode", MODES)
def test_each_overlay_sets_its_mode_and_the_dhan_endpoints_of_that_mode(
    rendered: dict[str, list[Manifest]], mode: str
) -> None:
    config = settings(rendered[mode])
    assert config["SARATHI_MODE"] == mode
    endpoints = (
        config["SARATHI_DHAN_REST_URL"],
        config["SARATHI_DHAN_FEED_URL"],
        config["SARATHI_DHAN_ORDER_UPDATE_URL"],
    )
    assert endpoints == EXPECTED_ENDPOINTS[mode]
    assert config["SARATHI_HTTP_HOST"] == "0.0.0.0", "a pod must listen beyond loopback"
    assert config["SARATHI_NATS_URL"] == "nats://nats:4222"


@pytest.mark.parametrize("mode", MODES)
def test_each_overlay_syncs_the_instrument_master_of_its_mode(
    rendered: dict[str, list[Manifest]], mode: str
) -> None:
    assert settings(rendered[mode])["SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"] == EXPECTED_MASTER[mode]
    for name, container in trading_containers(rendered[mode]).items():
        if name in ("execution", "instrument-sync"):
            sources = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
            assert any(s.startswith("sarathi-config") for s in sources), name


def test_the_base_leaves_the_mode_to_the_overlays(rendered: dict[str, list[Manifest]]) -> None:
    assert "SARATHI_MODE" not in settings(rendered["base"])


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_deploys_the_services_it_needs(
    rendered: dict[str, list[Manifest]], mode: str, services: list[str], trading_services: list[str]
) -> None:
    deployed = sorted(doc["metadata"]["name"] for doc in rendered[mode] if doc["kind"] == "Deployment")
    assert deployed == sorted([*(trading_services if mode == "live" else services), "alertmanager"])


def test_the_live_overlay_has_no_emulator_anywhere(rendered: dict[str, list[Manifest]]) -> None:
    for doc in rendered["live"]:
        name = doc["metadata"]["name"]
        assert name != "sim"
        assert doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "sim", name
        text = json.dumps(doc)
        assert "sarathi/sim" not in text, f"{doc['kind']}/{name} refers to the sim image"
        assert "sim:8600" not in text, f"{doc['kind']}/{name} points at the emulator"


@pytest.mark.parametrize("mode", MODES)
def test_the_dhan_credentials_are_optional_only_in_sim_and_arming_exists_only_in_live(
    rendered: dict[str, list[Manifest]], mode: str, trading_services: list[str]
) -> None:
    containers = trading_containers(rendered[mode])
    assert sorted(containers) == sorted([*trading_services, "instrument-sync"])
    for name, container in containers.items():
        refs = secret_refs(container)
        assert refs["sarathi-dhan"] is (mode == "sim"), f"{name}: sarathi-dhan optional in sim only"
        if mode == "live":
            assert refs["sarathi-live-arming"] is False, f"{name}: live needs the arming Secret"
        else:
            assert "sarathi-live-arming" not in refs, f"{name}: only live can be armed"


def test_risk_reads_its_control_token_from_a_secret(rendered: dict[str, list[Manifest]]) -> None:
    for mode in MODES:
        risk = trading_containers(rendered[mode])["risk"]
        (token,) = (e for e in risk["env"] if e["name"] == "SARATHI_CONTROL_TOKEN")
        expected = {"name": "sarathi-control", "key": "SARATHI_CONTROL_TOKEN"}
        assert token["valueFrom"]["secretKeyRef"] == expected, mode


@pytest.mark.parametrize("mode", ["sim", "paper"])
def test_the_emulator_accepts_the_client_the_services_present(
    rendered: dict[str, list[Manifest]], mode: str
) -> None:
    (sim,) = (d for d in rendered[mode] if d["kind"] == "Deployment" and d["metadata"]["name"] == "sim")
    (container,) = pod_template(sim)["spec"]["containers"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    for sim_variable, service_variable in (
        ("SARATHI_SIM_CLIENT_ID", "SARATHI_DHAN_CLIENT_ID"),
        ("SARATHI_SIM_ACCESS_TOKEN", "SARATHI_DHAN_ACCESS_TOKEN"),
        ("SARATHI_TOKEN_KEY", "SARATHI_TOKEN_KEY"),  # paper: the sim follows the renewed token
    ):
        assert env[sim_variable] == {"name": "sarathi-dhan", "key": service_variable, "optional": True}


def is_local(peer: dict[str, Any]) -> bool:
    """A peer inside the policy's own namespace: a pod selector and nothing wider."""
    return set(peer) == {"podSelector"}


@pytest.mark.parametrize("target", TARGETS)
def test_ingress_is_denied_by_default(rendered: dict[str, list[Manifest]], target: str) -> None:
    policies = [doc for doc in rendered[target] if doc["kind"] == "NetworkPolicy"]
    default_deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and "Ingress" in p["spec"]["policyTypes"]
        and not p["spec"].get("ingress")
    ]
    assert default_deny, "a default-deny ingress policy for the whole namespace"


@pytest.mark.parametrize("target", TARGETS)
def test_only_risks_control_port_is_reachable_from_outside_the_namespace(
    rendered: dict[str, list[Manifest]], target: str, ports: dict[str, int]
) -> None:
    external_rules = 0
    for policy in (doc for doc in rendered[target] if doc["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from", [])
            if peers and all(is_local(peer) for peer in peers):
                continue
            external_rules += 1
            name = policy["metadata"]["name"]
            assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "risk"}}, name
            assert rule.get("ports") == [{"port": ports["risk"], "protocol": "TCP"}], name
    assert external_rules == 1, "risk's control API is reachable from outside (Ingress, port-forward)"


@pytest.mark.parametrize("mode", MODES)
def test_every_pod_is_admitted_to_what_it_needs(rendered: dict[str, list[Manifest]], mode: str) -> None:
    docs = rendered[mode]
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in docs if doc["kind"] == "NetworkPolicy"}
    nats_clients = policies["nats-from-sarathi"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    http = policies["http-within-namespace"]["podSelector"]["matchExpressions"][0]
    alertmanager = policies["alertmanager-within-namespace"]
    for doc in docs:
        if doc["kind"] in ("Deployment", "CronJob"):
            labels = pod_template(doc)["metadata"]["labels"]
            if labels["app.kubernetes.io/name"] == "alertmanager":
                # Not a NATS client; Prometheus reaches its API from within the namespace.
                assert alertmanager["podSelector"]["matchLabels"].items() <= labels.items()
                assert alertmanager["ingress"] == [
                    {"from": [{"podSelector": {}}], "ports": [{"port": "http", "protocol": "TCP"}]}
                ]
                continue
            assert nats_clients.items() <= labels.items(), f"{doc['metadata']['name']} cannot reach NATS"
            if doc["kind"] == "Deployment":
                assert labels["app.kubernetes.io/component"] in http["values"], doc["metadata"]["name"]


def test_images_are_overridable_with_kustomize(tmp_path: Path, repo: Path, services: list[str]) -> None:
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # kustomize takes relative paths only
        "resources": [os.path.relpath(repo / "deploy" / "k8s" / "overlays" / "sim", tmp_path)],
        "images": [
            {
                "name": f"sarathi/{service}",
                "newName": f"registry.example/sarathi/{service}",
                "newTag": "1.2.3",
            }
            for service in services
        ],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    kubectl = Path(sys.executable).parent / "kubectl"
    result = subprocess.run(
        [str(kubectl), "kustomize", str(tmp_path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    images = [
        container["image"]
        for doc in yaml.safe_load_all(result.stdout)
        if doc
        and doc["kind"] in ("Deployment", "CronJob")
        and pod_template(doc)["metadata"]["labels"]["app.kubernetes.io/name"] != "alertmanager"
        for container in [
            *pod_template(doc)["spec"].get("initContainers", []),
            *pod_template(doc)["spec"]["containers"],
        ]
    ]
    assert len(images) > len(services), "every service, its migration, the instrument sync"
    for image in images:
        assert image.startswith("registry.example/sarathi/"), image
        assert image.endswith(":1.2.3"), image


# --- the operator's holidays file (components/holidays) ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_holidays_component_gives_every_service_and_the_sim_the_operators_file_read_only(
    rendered_with_holidays: dict[str, list[Manifest]],
    mode: str,
    services: list[str],
    trading_services: list[str],
) -> None:
    """deploy/README.md's overlay: the mode, the component and the ConfigMap from the operator's file."""
    docs = rendered_with_holidays[mode]
    given = {name: file for name, file in k8s_holidays(docs).items() if file.path}
    assert sorted(given) == sorted(trading_services if mode == "live" else services)
    for name, file in given.items():
        assert file == HolidaysFile(HOLIDAYS_PATH, HOLIDAYS_CSV, read_only=True), name
    (sync,) = (doc for doc in docs if doc["kind"] == "CronJob")
    assert "SARATHI_HOLIDAYS_FILE" not in json.dumps(sync), "the instrument sync reads no calendar"
    (config_map,) = (d for d in docs if d["kind"] == "ConfigMap" and "holidays.csv" in d.get("data", {}))
    assert config_map["metadata"]["namespace"] == "sarathi"
    assert config_map["metadata"]["name"].startswith("sarathi-holidays-"), "hashed: a change rolls the pods"
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_without_the_holidays_component_no_pod_is_given_a_holidays_file(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    assert set(k8s_holidays(rendered[target]).values()) == {HolidaysFile(None, None, read_only=False)}
    for doc in rendered[target]:
        text = json.dumps(doc)
        for word in ("SARATHI_HOLIDAYS_FILE", "sarathi-holidays", "/etc/sarathi/holidays"):
            assert word not in text, f"{doc['kind']}/{doc['metadata']['name']} mentions {word}"


def test_a_changed_holidays_file_renames_its_config_map_so_every_service_restarts(
    tmp_path: Path, trading_services: list[str]
) -> None:
    """Each service reads the file once, at start: the hashed name changes the pod templates."""

    def volumes(docs: list[Manifest]) -> dict[str, str]:
        return {
            doc["metadata"]["name"]: volume["configMap"]["name"]
            for doc in docs
            if doc["kind"] == "Deployment"
            for volume in doc["spec"]["template"]["spec"]["volumes"]
            if volume["name"] == "holidays"
        }

    before = volumes(render(holidays_overlay(tmp_path / "before", "live")))
    extra = "holiday,2027-03-22,Holi,NSE/CMTR/00000 (test),NSE|BSE\n"
    after = volumes(render(holidays_overlay(tmp_path / "after", "live", HOLIDAYS_CSV + extra)))
    assert sorted(before) == sorted(after) == sorted(trading_services)
    assert all(before[name] != after[name] for name in before)
