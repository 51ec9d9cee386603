"""The Helm chart deploy/helm/sarathi: rendered for each mode with the real Helm library (Helm v4,
embedded by helm-python-sdk; no binary, no cluster), linted, valid against the Kubernetes schemas,
refusing wrong values, and producing the same objects as the kustomize overlay of that mode."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from .conftest import HOLIDAYS_CSV, HOLIDAYS_PATH, HolidaysFile, k8s_holidays

Manifest = dict[str, Any]
MODES = ("sim", "paper", "live")
K8S_VERSION = "1.35.0"  # as test_k8s_manifests.py
REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "sarathi"
NAMESPACE = "sarathi"
ARMING = {"secrets": {"liveArming": "sarathi-live-arming"}}
# Labels and annotations that only Helm adds: the release, and the checksums that roll the pods.
HELM_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart")
KUSTOMIZE_HASH = re.compile(r"-[a-z0-9]{10}$")  # configMapGenerator's name suffix


def values_for(mode: str, **more: Any) -> dict[str, Any]:
    """The values an operator gives for a mode (live: with the arming Secret's name)."""
    values: dict[str, Any] = {"mode": mode, **(ARMING if mode == "live" else {})}
    values.update(more)
    return values


def helm_render(values: dict[str, Any]) -> list[Manifest]:
    """`helm template sarathi deploy/helm/sarathi -n sarathi` with these values."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name="sarathi", namespace=NAMESPACE, is_install=True)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def render_error(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as raised:
        helm_render(values)
    return str(raised.value)


def find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    (doc,) = (d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    return doc


def pod_spec(doc: Manifest) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return dict(doc["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(doc["spec"]["template"]["spec"])


@pytest.fixture(scope="module")
def charted() -> dict[str, list[Manifest]]:
    """The chart, rendered once per mode."""
    return {mode: helm_render(values_for(mode)) for mode in MODES}


def without_helm_metadata(value: Any) -> Any:
    """The object as kustomize would write it: no Helm labels, no checksum annotations."""
    if isinstance(value, dict):
        cleaned = {key: without_helm_metadata(item) for key, item in value.items()}
        if isinstance(cleaned.get("labels"), dict):
            cleaned["labels"] = {k: v for k, v in cleaned["labels"].items() if k not in HELM_LABELS}
        if isinstance(cleaned.get("annotations"), dict):
            annotations = {k: v for k, v in cleaned["annotations"].items() if not k.startswith("checksum/")}
            cleaned["annotations"] = annotations
            if not annotations:
                del cleaned["annotations"]
        return cleaned
    if isinstance(value, list):
        return [without_helm_metadata(item) for item in value]
    return value


def without_hash_suffixes(value: Any, generated: set[str]) -> Any:
    """The object with kustomize's generated ConfigMap names back to their plain names."""
    if isinstance(value, dict):
        return {key: without_hash_suffixes(item, generated) for key, item in value.items()}
    if isinstance(value, list):
        return [without_hash_suffixes(item, generated) for item in value]
    if isinstance(value, str) and value in generated:
        return KUSTOMIZE_HASH.sub("", value)
    return value


def by_identity(docs: list[Manifest]) -> dict[str, Manifest]:
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in docs}


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two objects differ, as `path: left != right` lines."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            found += differences(left.get(key), right.get(key), f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        pairs = enumerate(zip(left, right, strict=True))
        return [line for i, (one, other) in pairs for line in differences(one, other, f"{path}[{i}]")]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def assert_same_objects(charted: list[Manifest], kustomized: list[Manifest]) -> None:
    """The chart's objects equal the overlay's, but for Helm's labels and checksums, kustomize's
    hash suffixes, and the Namespace (created before the install, with the Secrets)."""
    kustomized = [doc for doc in kustomized if doc["kind"] != "Namespace"]
    generated = {doc["metadata"]["name"] for doc in kustomized if doc["kind"] == "ConfigMap"}
    expected = by_identity([without_hash_suffixes(doc, generated) for doc in kustomized])
    actual = by_identity([without_helm_metadata(doc) for doc in charted])
    assert sorted(actual) == sorted(expected)
    problems = [f"{name}{line}" for name in expected for line in differences(actual[name], expected[name])]
    assert not problems, "chart != overlay:\n" + "\n".join(problems)


@pytest.mark.parametrize("mode", MODES)
def test_the_chart_renders_the_same_objects_as_the_kustomize_overlay_of_each_mode(
    charted: dict[str, list[Manifest]], rendered: dict[str, list[Manifest]], mode: str
) -> None:
    """Workloads, replicas, strategies, images, commands, ports, probes, environment (the settings
    and the Secrets each mode requires), resources, volumes, Services, claims, policies, ConfigMaps:
    the whole object (`assert_same_objects`)."""
    assert_same_objects(charted[mode], rendered[mode])


@pytest.mark.parametrize("mode", MODES)
def test_the_parity_covers_the_workloads_settings_and_instrument_master_of_each_mode(
    charted: dict[str, list[Manifest]], mode: str
) -> None:
    """The comparison above is not vacuous: the chart runs each mode's workloads and settings."""
    docs = charted[mode]
    kinds = ("Deployment", "StatefulSet", "CronJob")
    workloads = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs if d["kind"] in kinds)
    emulator = [] if mode == "live" else ["Deployment/sim"]
    expected = [
        "CronJob/instrument-sync",
        *(f"Deployment/{name}" for name in ("feed", "signals", "execution", "orders", "risk")),
        "Deployment/alertmanager",
        *emulator,
        "StatefulSet/nats",
        "StatefulSet/postgres",
    ]
    assert workloads == sorted(expected)
    config = find(docs, "ConfigMap", "sarathi-config")["data"]
    assert config["SARATHI_MODE"] == mode
    master = config["SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"]
    assert master.startswith("http://sim:8600/" if mode == "sim" else "https://images.dhan.co/")


@pytest.mark.parametrize("mode", MODES)
def test_helm_lint_finds_nothing_to_warn_about(mode: str) -> None:
    report = helm.lint(
        CHART, values_for(mode), strict=True, namespace=NAMESPACE, kube_version=f"v{K8S_VERSION}"
    )
    assert report["total_charts_linted"] == 1
    assert not report["errors"], report["errors"]
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


@pytest.mark.parametrize("mode", MODES)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(
    charted: dict[str, list[Manifest]], mode: str
) -> None:
    problems: list[str] = []
    for doc in charted[mode]:
        assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {error.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("mode", MODES)
def test_the_chart_references_secrets_and_never_contains_one(
    charted: dict[str, list[Manifest]], mode: str
) -> None:
    assert not [doc for doc in charted[mode] if doc["kind"] == "Secret"]


def test_the_schema_refuses_a_mode_that_does_not_exist() -> None:
    assert "/mode" in render_error({"mode": "demo"})


def test_the_mode_is_required_and_has_no_default() -> None:
    assert "missing property 'mode'" in render_error({})


def test_the_schema_refuses_a_missing_image() -> None:
    # A null removes the default (as `--set image.repository=null` does).
    assert "missing property 'repository'" in render_error({"mode": "sim", "image": {"repository": None}})


def test_the_schema_refuses_unknown_values_such_as_a_second_orders_replica() -> None:
    error = render_error({"mode": "sim", "orders": {"replicas": 2}})
    assert "/orders" in error
    assert "replicas" in error


def test_live_refuses_to_render_without_the_arming_secret() -> None:
    assert "liveArming" in render_error({"mode": "live"})
    assert "liveArming" in render_error({"mode": "live", "secrets": {"liveArming": ""}})


def test_live_refuses_to_render_without_the_arming_secret_even_without_the_schema(tmp_path: Path) -> None:
    """`helm install --skip-schema-validation` still stops at the templates' own check."""
    chart = tmp_path / "sarathi"
    shutil.copytree(CHART, chart)  # follows the links in files/
    (chart / "values.schema.json").unlink()
    with helm.Chart.load(chart) as unchecked, pytest.raises(helm.HelmRenderError) as raised:
        unchecked.render({"mode": "live"}, name="sarathi", namespace=NAMESPACE)
    assert "mode live needs secrets.liveArming" in str(raised.value)
    with helm.Chart.load(chart) as unchecked, pytest.raises(helm.HelmRenderError) as raised:
        unchecked.render({"mode": "demo"}, name="sarathi", namespace=NAMESPACE)
    assert "mode must be sim, paper or live" in str(raised.value)


@pytest.mark.parametrize("mode", ["sim", "paper"])
def test_only_live_refers_to_an_arming_secret_even_when_one_is_named(mode: str) -> None:
    docs = helm_render({"mode": mode, **ARMING})
    for doc in docs:
        assert "sarathi-live-arming" not in yaml.safe_dump(doc), f"{doc['kind']}/{doc['metadata']['name']}"


def test_every_sarathi_image_follows_the_repository_and_tag_values() -> None:
    docs = helm_render(values_for("sim", image={"repository": "registry.example/sarathi", "tag": "1.2.3"}))
    images = [
        container["image"]
        for doc in docs
        if doc["kind"] in ("Deployment", "CronJob") and doc["metadata"]["name"] != "alertmanager"
        for container in [*pod_spec(doc).get("initContainers", []), *pod_spec(doc)["containers"]]
    ]
    assert len(images) == 11, "six services, four migrations, the instrument sync"
    for image in images:
        assert re.fullmatch(r"registry\.example/sarathi/[a-z]+:1\.2\.3", image), image


def test_alertmanager_takes_its_image_tag_and_secret_name_from_the_values() -> None:
    docs = helm_render(values_for("sim", alertmanager={"image": {"tag": "v0.29.0"}, "secretName": "am"}))
    spec = pod_spec(find(docs, "Deployment", "alertmanager"))
    (container,) = spec["containers"]
    assert container["image"] == "prom/alertmanager:v0.29.0"
    (chat_id,) = (e for e in container["env"] if e["name"] == "TELEGRAM_CHAT_ID")
    assert chat_id["valueFrom"]["secretKeyRef"]["name"] == "am"
    (secrets,) = (v for v in spec["volumes"] if v["name"] == "secrets")
    assert secrets["secret"] == {"secretName": "am", "optional": True}


def test_the_chart_reads_alertmanager_and_nats_configuration_from_the_one_copy_in_deploy(
    charted: dict[str, list[Manifest]],
) -> None:
    """files/ holds links, not copies: Helm reads only inside the chart, kustomize and compose
    read deploy/alertmanager and deploy/k8s/base, and a copy would drift."""
    links = {
        "alertmanager.yml": REPO / "deploy" / "alertmanager" / "alertmanager.yml",
        "start.sh": REPO / "deploy" / "alertmanager" / "start.sh",
        "nats.conf": REPO / "deploy" / "k8s" / "base" / "nats.conf",
    }
    for name, target in links.items():
        link = CHART / "files" / name
        assert link.is_symlink(), f"{link} must be a link to {target}, not a copy"
        assert link.resolve() == target.resolve()
    alertmanager = find(charted["sim"], "ConfigMap", "alertmanager-config")["data"]
    assert alertmanager == {name: links[name].read_text() for name in ("alertmanager.yml", "start.sh")}
    nats = find(charted["sim"], "ConfigMap", "nats-config")["data"]
    assert nats == {"nats.conf": links["nats.conf"].read_text()}


def test_a_change_of_settings_rolls_the_pods_that_read_them() -> None:
    def checksums(docs: list[Manifest]) -> dict[str, str]:
        return {
            doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for doc in docs
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] != "alertmanager"
        }

    info, debug = helm_render(values_for("sim")), helm_render(values_for("sim", logLevel="DEBUG"))
    assert checksums(info).keys() == checksums(debug).keys()
    assert all(checksums(info)[name] != checksums(debug)[name] for name in checksums(info))


def test_the_control_api_can_be_narrowed_to_given_peers_and_stays_the_only_way_in() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    docs = helm_render(values_for("live", networkPolicy={"controlApiFrom": [peer]}))
    (rule,) = find(docs, "NetworkPolicy", "risk-control-api")["spec"]["ingress"]
    assert rule == {"ports": [{"port": 8605, "protocol": "TCP"}], "from": [peer]}


def test_orders_can_be_pinned_to_the_static_ip_nodes_and_stays_one_recreated_pod() -> None:
    selector = {"sarathi.dev/static-egress-ip": "true"}
    docs = helm_render(values_for("live", orders={"nodeSelector": selector}))
    orders = find(docs, "Deployment", "orders")
    assert orders["spec"]["template"]["spec"]["nodeSelector"] == selector
    assert orders["spec"]["replicas"] == 1
    assert orders["spec"]["strategy"] == {"type": "Recreate"}
    assert "nodeSelector" not in pod_spec(find(docs, "Deployment", "risk"))


def test_volume_claims_use_the_given_storage_class_and_sizes() -> None:
    docs = helm_render(
        values_for(
            "sim", storageClassName="fast", nats={"storage": "5Gi"}, execution={"recordingsStorage": "3Gi"}
        )
    )
    names = ("feed-recordings", "signals-recordings", "execution-recordings", "sim-state")
    claims = [find(docs, "PersistentVolumeClaim", name)["spec"] for name in names]
    for name in ("nats", "postgres"):
        claims.append(find(docs, "StatefulSet", name)["spec"]["volumeClaimTemplates"][0]["spec"])
    assert [claim["storageClassName"] for claim in claims] == ["fast"] * 6
    assert claims[2]["resources"]["requests"]["storage"] == "3Gi"
    assert claims[4]["resources"]["requests"]["storage"] == "5Gi"


@pytest.mark.parametrize("mode", MODES)
def test_feed_signals_and_execution_record_the_day_in_one_layout_on_claims_of_their_own(
    charted: dict[str, list[Manifest]], mode: str, recording_directory: Callable[[list[Manifest]], str]
) -> None:
    """As the kustomize overlays (test_k8s_manifests.py): each recording service on its own
    writable claim, all at the one path deploy/README.md gathers from."""
    assert recording_directory(charted[mode]).startswith("/var/lib/sarathi/")


def leaf_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values, down to a value or to a resources or nodeSelector block."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in ("resources", "nodeSelector"):
            paths += leaf_paths(value, f"{path}.")
        else:
            paths.append(path)
    return paths


def test_the_readme_documents_every_value() -> None:
    readme = (REPO / "deploy" / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = [path for path in ["mode", *leaf_paths(values)] if f"`{path}`" not in readme]
    assert not missing, f"deploy/README.md's values table lacks {missing}"


def test_a_packaged_chart_carries_the_linked_files_contents(tmp_path: Path) -> None:
    """`helm package` (and `helm push`) store what the links point at, so the archive stands alone."""
    archive = helm.package(CHART, destination=tmp_path)
    with helm.Chart.load_archive(Path(archive).read_bytes()) as chart:
        manifests = chart.render(values_for("sim"), name="sarathi", namespace=NAMESPACE)
    docs = [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]
    start = (REPO / "deploy" / "alertmanager" / "start.sh").read_text()
    assert find(docs, "ConfigMap", "alertmanager-config")["data"]["start.sh"] == start


# --- the operator's holidays file (values holidays.csv) ------------------------------------------


@pytest.fixture(scope="module")
def charted_with_holidays() -> dict[str, list[Manifest]]:
    """The chart with the operator's holidays file, rendered once per mode."""
    return {mode: helm_render(values_for(mode, holidays={"csv": HOLIDAYS_CSV})) for mode in MODES}


@pytest.mark.parametrize("mode", MODES)
def test_the_holidays_value_gives_every_service_and_the_sim_the_file_read_only(
    charted_with_holidays: dict[str, list[Manifest]],
    mode: str,
    services: list[str],
    trading_services: list[str],
) -> None:
    docs = charted_with_holidays[mode]
    given = {name: file for name, file in k8s_holidays(docs).items() if file.path}
    assert sorted(given) == sorted(trading_services if mode == "live" else services)
    for name, file in given.items():
        assert file == HolidaysFile(HOLIDAYS_PATH, HOLIDAYS_CSV, read_only=True), name
    (sync,) = (doc for doc in docs if doc["kind"] == "CronJob")
    assert "SARATHI_HOLIDAYS_FILE" not in yaml.safe_dump(sync), "the instrument sync reads no calendar"


@pytest.mark.parametrize("mode", MODES)
def test_without_the_holidays_value_no_pod_is_given_a_holidays_file(
    charted: dict[str, list[Manifest]], mode: str
) -> None:
    assert helm_render(values_for(mode, holidays={"csv": ""})) == charted[mode], "empty is the default"
    assert set(k8s_holidays(charted[mode]).values()) == {HolidaysFile(None, None, read_only=False)}
    for doc in charted[mode]:
        text = yaml.safe_dump(doc)
        for word in ("SARATHI_HOLIDAYS_FILE", "sarathi-holidays", "/etc/sarathi/holidays"):
            assert word not in text, f"{doc['kind']}/{doc['metadata']['name']} mentions {word}"


@pytest.mark.parametrize("mode", MODES)
def test_the_chart_with_holidays_renders_the_same_objects_as_the_overlay_with_the_holidays_component(
    charted_with_holidays: dict[str, list[Manifest]],
    rendered_with_holidays: dict[str, list[Manifest]],
    mode: str,
) -> None:
    """The ConfigMap sarathi-holidays, and the variable, the mount and the volume in each Deployment."""
    assert_same_objects(charted_with_holidays[mode], rendered_with_holidays[mode])


@pytest.mark.parametrize("mode", MODES)
def test_the_chart_with_holidays_validates_and_lints(
    charted_with_holidays: dict[str, list[Manifest]], mode: str
) -> None:
    for doc in charted_with_holidays[mode]:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    values = values_for(mode, holidays={"csv": HOLIDAYS_CSV})
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{K8S_VERSION}")
    assert not report["errors"], report["errors"]
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_the_schema_refuses_a_holidays_path_given_where_the_files_content_belongs() -> None:
    """`--set holidays.csv=./holidays.csv` instead of `--set-file`: every service would refuse the
    one-line "file" at start; the chart refuses it before anything rolls."""
    error = render_error(values_for("live", holidays={"csv": "./holidays.csv"}))
    assert "/holidays/csv" in error


def pod_annotations(doc: Manifest) -> dict[str, str]:
    return dict(doc["spec"]["template"]["metadata"]["annotations"])


def test_a_changed_holidays_file_rolls_the_services_that_read_it() -> None:
    """Each service reads the file once, at start: a new content must restart them."""

    def checksums(csv: str) -> dict[str, str | None]:
        docs = helm_render(values_for("sim", holidays={"csv": csv}))
        return {
            doc["metadata"]["name"]: pod_annotations(doc).get("checksum/holidays")
            for doc in docs
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] != "alertmanager"
        }

    extra = "holiday,2027-03-22,Holi,NSE/CMTR/00000 (test),NSE|BSE\n"
    before, after = checksums(HOLIDAYS_CSV), checksums(HOLIDAYS_CSV + extra)
    assert len(before) == 6, "the five services and the emulator"
    assert all(before[name] and after[name] and before[name] != after[name] for name in before)
