"""Real Helm: every Helm release of every repo stack and STACK_VARIANT, rendered through the pinned upstream
chart by Helm's own engine at the stack's Kubernetes version, then checked the way a cluster would check it.

Per stack or variant: the pin has a chart source at exactly that version; Helm renders it (template errors,
values.schema.json of the chart and its subcharts, the chart's kubeVersion) without coalescing warnings;
every values key is one the chart or the subchart receiving it declares, and none goes to a disabled
subchart; every rendered object (CRDs from crds/, templates, hooks) passes Kubernetes' strict OpenAPI
schema of that version or its CRD; every custom resource's CRD is installed by the stack. The second half
shows each failure class is caught.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from components import versions
from preflight.helm.render import (
    ChartSourceError,
    ReleaseRenderError,
    chart_dir,
    check_pin,
    enabled_missing_subcharts,
    release_pins,
    render_chart,
    render_release,
)
from preflight.helm.values import (
    chart_values,
    disabled_subchart_value_paths,
    known_values,
    unknown_release_value_paths,
    unknown_value_paths,
)
from preflight.validate.kubernetes import (
    BuiltinSchemas,
    UnsupportedKubernetesVersion,
    builtin_schemas,
    crd_documents,
    held_crds,
    served_kinds,
    shipped_kubernetes_versions,
    validate_objects,
)
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS
from tests.support.upstream import upstream_dir

STACKS = [*REPO_STACKS, *(variant.name for variant in STACK_VARIANTS)]


@pytest.fixture(scope="module")
def held():
    return held_crds(upstream_dir())


def crds_installed_by(releases) -> list[tuple[dict, str]]:
    """(CRD, where) for every CRD the stack's releases install: crds/ (unless skipCrds) and CRD templates."""
    found = []
    for release in releases.values():
        for obj in release.all_objects():
            if obj.get("kind") == "CustomResourceDefinition":
                found.append(
                    (obj, f"release {release.release}: {obj['metadata']['annotations']['gpu-eks.test/template']}")
                )
    return found


# -- every stack and variant -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STACKS)
def test_every_release_pins_a_chart_source_at_its_version(name, stack_or_variant_run):
    pins = release_pins(stack_or_variant_run(name))
    assert pins, f"{name}: no Helm release"
    problems = []
    for pin in pins:
        try:
            check_pin(pin["chart"], pin["version"])
        except ChartSourceError as error:
            problems.append(f"release {pin['release']}: {error}")
    assert problems == []


@pytest.mark.parametrize("name", STACKS)
def test_every_release_renders_through_real_helm_without_warnings(name, stack_or_variant_run, rendered_releases):
    run = stack_or_variant_run(name)
    releases = rendered_releases(name)  # raises ReleaseRenderError naming the release Helm refused
    pins = {pin["release"]: pin for pin in release_pins(run)}
    assert set(releases) == set(pins)
    for release in releases.values():
        assert release.version == pins[release.release]["version"]
        assert release.kube_version == run.outputs["kubernetesVersion"]
        assert release.skip_crds == pins[release.release]["skipCrds"]
    assert {r.release: r.warnings for r in releases.values() if r.warnings} == {}


@pytest.mark.parametrize("name", STACKS)
def test_every_enabled_subchart_has_a_chart_source(name, stack_or_variant_run):
    """A subchart the values enable must be in the chart source, or its objects, values and pods go unchecked."""
    missing = {}
    for pin in release_pins(stack_or_variant_run(name)):
        path = chart_dir(pin["chart"])
        defaults = yaml.safe_load((path / "values.yaml").read_text()) or {}
        if found := enabled_missing_subcharts(path, pin["values"], defaults):
            missing[pin["release"]] = found
    assert missing == {}


def test_a_render_with_an_enabled_subchart_missing_from_its_source_fails(tmp_path, monkeypatch):
    # kube-prometheus-stack without its grafana subchart (as shared/upstream once was): Helm would render it with
    # Grafana silently absent; the render refuses instead, naming the subchart.
    import shutil

    from preflight import upstream

    shutil.copytree(upstream_dir() / "karpenter", tmp_path / "karpenter")
    shutil.copytree(upstream_dir() / "nvidia", tmp_path / "nvidia")
    chart = tmp_path / "charts" / "kube-prometheus-stack"
    shutil.copytree(upstream_dir() / "charts" / "kube-prometheus-stack", chart)
    shutil.rmtree(chart / "charts" / "grafana")
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path))
    with pytest.raises(ChartSourceError, match=r"enables subcharts grafana that its source .* lacks"):
        render_chart("kube-prometheus-stack", {}, release="kps", namespace="monitoring", kube_version="1.34")


# Every stack and variant's values keys, rendered objects (Kubernetes schema and CRDs), CRDs installed by the stack
# and the program's own objects are checked by preflight's helm and objects stages in
# tests/preflight/test_every_stack.py; the tests here keep the rules and their broken inputs.


def test_the_schema_check_sees_the_warm_slice_templates_and_rejects_a_broken_one(stack_or_variant_run):
    from preflight.model.objects import manifest_of

    run = stack_or_variant_run("warm-team-pools")
    templates = [manifest_of(r) for r in run.resources if r.type == "kubernetes:core/v1:PodTemplate"]
    assert [t["metadata"]["name"] for t in templates] == ["gpu-eks-warm-chat", "gpu-eks-warm-search"]
    assert validate_objects(templates, "1.34", held_crds(upstream_dir())).problems == []
    templates[0]["template"]["spec"]["containers"][0]["resources"]["limits"] = ["nvidia.com/gpu"]
    assert validate_objects(templates, "1.34", held_crds(upstream_dir())).problems != []


def test_the_karpenter_crd_release_installs_the_capacity_buffer_crd_warm_slices_need(rendered_releases):
    ((buffer_crd, where),) = [
        (crd, where)
        for crd, where in crds_installed_by(rendered_releases("warm-team-pools"))
        if crd["metadata"]["name"] == "capacitybuffers.autoscaling.x-k8s.io"
    ]
    assert list(served_kinds(buffer_crd)) == [("autoscaling.x-k8s.io/v1beta1", "CapacityBuffer")]
    assert where.startswith("release karpenter-crd: ")


@pytest.mark.parametrize(
    "name, gates",
    [
        # The chart's default is written out when a pool needs the gate (reservedCapacity is beta and on in 1.14.1,
        # off before 1.6.0); capacityBuffer is alpha and off by default.
        ("reserved-training", {"ReservedCapacity=true", "CapacityBuffer=false"}),
        ("warm-team-pools", {"CapacityBuffer=true", "ReservedCapacity=true"}),
    ],
)
def test_the_karpenter_controller_runs_with_the_gates_the_pools_need(rendered_releases, name, gates):
    (deployment,) = [o for o in rendered_releases(name)["karpenter"].objects if o["kind"] == "Deployment"]
    env = {e["name"]: e.get("value") for c in deployment["spec"]["template"]["spec"]["containers"] for e in c["env"]}
    assert gates <= set(env["FEATURE_GATES"].split(","))


def test_the_gpu_stacks_render_the_nvidia_objects_the_checks_rely_on(rendered_releases):
    """Guards the checks above against passing vacuously: the objects they validate are really there."""
    prod = rendered_releases("prod")["gpu-operator"]
    assert [o["kind"] for o in prod.objects].count("ClusterPolicy") == 1
    assert prod.subcharts == ("node-feature-discovery",)
    assert {k for crd in prod.crds for k in served_kinds(crd)} >= {
        ("nvidia.com/v1", "ClusterPolicy"),
        ("nfd.k8s-sigs.io/v1alpha1", "NodeFeatureRule"),
    }
    dev = rendered_releases("dev")["nvidia-device-plugin"]
    assert dev.subcharts == ("nfd",)  # gfd.enabled turns the aliased NFD subchart on
    assert any(
        o["kind"] == "DaemonSet" and "nfd/templates/worker" in o["metadata"]["annotations"]["gpu-eks.test/template"]
        for o in dev.objects
    )


# -- what the render models -------------------------------------------------------------------------------------


def test_hooks_and_crds_are_modelled_as_helm_installs_them(rendered_releases):
    prod = rendered_releases("prod")
    operator = prod["gpu-operator"]
    assert operator.hooks and all("helm.sh/hook" in o["metadata"]["annotations"] for o in operator.hooks)
    assert len(operator.hooks) + len(operator.manifest) == len(operator.objects)
    assert not any(o["kind"] == "ClusterPolicy" for o in operator.hooks)
    karpenter = prod["karpenter"]
    assert karpenter.skip_crds and karpenter.crds == []  # its CRDs come from the karpenter-crd release
    assert any((chart_dir("karpenter") / "crds").glob("*.yaml"))  # though the chart ships crds/
    installed = {k for crd, _ in crds_installed_by(prod) for k in served_kinds(crd)}
    assert ("karpenter.sh/v1", "NodePool") in installed  # from karpenter-crd's templates


def test_a_disabled_subchart_leaves_no_templates_crds_or_schema_check():
    """Helm drops a subchart whose condition is false before validating and rendering; the render reports
    what Helm kept, so this also guards against an SDK change that would stop reporting it."""
    values = {"nfd": {"master": {"replicaCount": "two"}}}  # violates NFD's schema, but NFD is off (gfd off)
    release = render_chart(
        "nvidia-device-plugin", values, release="nvidia-device-plugin", namespace="nvidia", kube_version="1.34"
    )
    assert release.subcharts == () and release.crds == []
    assert not any("/charts/" in o["metadata"]["annotations"]["gpu-eks.test/template"] for o in release.objects)
    tree = chart_values(chart_dir("nvidia-device-plugin"))
    assert disabled_subchart_value_paths(values, tree, release.subcharts) == ["nfd.master"]
    assert disabled_subchart_value_paths({"nfd": {"enabled": False}}, tree, ()) == []


def test_every_supported_kubernetes_version_has_schemas_in_kubernetes_validate():
    shipped = shipped_kubernetes_versions()
    assert shipped[0] == "1.25" and "1.37" in shipped
    assert [v for v in versions.SUPPORTED_KUBERNETES_VERSIONS if v not in shipped] == []


def test_a_kubernetes_version_without_schemas_fails_instead_of_falling_back():
    with pytest.raises(UnsupportedKubernetesVersion, match=r"ships schemas for Kubernetes 1\.25\.\.1\.\d+, not 1\.99"):
        BuiltinSchemas("1.99")


# -- each failure class is caught -------------------------------------------------------------------------------


def real_values(rendered_releases, stack, release):
    return copy.deepcopy(rendered_releases(stack)[release].values)


@pytest.mark.parametrize(
    "stack, release, change, message",
    [
        ("prod", "karpenter", {"settings": {"clusterName": ""}}, "without a valid settings.clusterName"),
        (
            "prod",
            "gpu-operator",
            {"devicePlugin": {"config": {"name": ""}}},
            "devicePlugin.config.name cannot be empty",
        ),
        (
            "dev",
            "nvidia-device-plugin",
            {"config": {"name": "external-configs"}},
            "Only one of 'config.name' or 'config.map'",
        ),
        (
            "dev",
            "nvidia-device-plugin",
            {"config": {"map": "default"}},
            "range can't iterate over default",
        ),  # wrong type
    ],
    ids=["required", "gpu-operator-fail", "device-plugin-fail", "wrong-type"],
)
def test_a_template_error_fails_the_render(rendered_releases, stack, release, change, message):
    rendered = rendered_releases(stack)[release]
    values = merge(real_values(rendered_releases, stack, release), change)
    with pytest.raises(ReleaseRenderError, match="HelmRenderError") as caught:
        render_chart(rendered.chart, values, release=release, namespace=rendered.namespace, kube_version="1.34")
    assert message in str(caught.value) and f"release {release}" in str(caught.value)


@pytest.mark.parametrize(
    "stack, release, change, where",
    [
        (
            "dev",
            "nvidia-device-plugin",
            {"nfd": {"master": {"replicaCount": "2"}}},
            "nfd:\n- at '/master/replicaCount'",
        ),
        (
            "prod",
            "gpu-operator",
            {"node-feature-discovery": {"worker": {"tolerations": "nvidia.com/gpu"}}},
            "node-feature-discovery:\n- at '/worker/tolerations': got string, want array",
        ),
    ],
    ids=["device-plugin-alias-nfd", "gpu-operator-nfd"],
)
def test_helms_render_enforces_the_nfd_subchart_schema(rendered_releases, stack, release, change, where):
    """Neither parent chart has a values.schema.json; NFD's is enforced by the render itself, under the key
    the parent hands NFD (the alias `nfd` in nvidia-device-plugin)."""
    rendered = rendered_releases(stack)[release]
    values = merge(real_values(rendered_releases, stack, release), change)
    with pytest.raises(ReleaseRenderError, match="HelmValuesError") as caught:
        render_chart(rendered.chart, values, release=release, namespace=rendered.namespace, kube_version="1.34")
    assert where in str(caught.value)


def test_the_sdks_explicit_schema_call_misses_an_aliased_subchart_so_the_render_is_the_check():
    """`Chart.validate_schema` on a loaded chart validates subcharts under their *name*, before Helm's
    dependency processing applies aliases; values under the alias `nfd` pass it unchecked. The render (above)
    processes dependencies first, which is why the check relies on the render, not on this call."""
    import helm_python as helm

    bad = {"master": {"replicaCount": "2"}}
    with helm.Chart.load(str(chart_dir("nvidia-device-plugin"))) as chart:
        assert chart.schema is None
        chart.validate_schema({"gfd": {"enabled": True}, "nfd": bad})  # not caught
        with pytest.raises(helm.HelmValuesError, match="want integer"):
            chart.validate_schema({"node-feature-discovery": bad})
    with helm.Chart.load(str(chart_dir("gpu-operator"))) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema({"node-feature-discovery": bad})  # no alias: caught either way


def test_a_chart_refuses_a_kubernetes_version_below_its_kube_version_constraint():
    with pytest.raises(
        ReleaseRenderError, match=r"requires kubeVersion: >= 1\.10\.0-0 .* incompatible with Kubernetes v1\.9\.0"
    ):
        render_chart("nvidia-device-plugin", {}, release="nvidia-device-plugin", namespace="nvidia", kube_version="1.9")


def test_a_value_helm_drops_while_coalescing_is_reported_as_a_warning(rendered_releases):
    values = merge(real_values(rendered_releases, "prod", "karpenter"), {"logLevel": {"level": "debug"}})
    release = render_chart("karpenter", values, release="karpenter", namespace="kube-system", kube_version="1.34")
    assert release.warnings == ("warning: skipped value for karpenter.logLevel: Not a table.",)


@pytest.mark.parametrize(
    "chart, values, expected",
    [
        ("nvidia-device-plugin", {"gfd": {"enable": True}}, ["gfd.enable"]),
        # The GPU Operator's devicePlugin.config shape given to the standalone chart, and the reverse.
        (
            "nvidia-device-plugin",
            {"config": {"create": True, "name": "c", "data": {"default": "version: v1\n"}}},
            ["config.create", "config.data"],
        ),
        (
            "gpu-operator",
            {"devicePlugin": {"config": {"map": {"default": "version: v1\n"}, "default": "default"}}},
            ["devicePlugin.config.map"],
        ),
        ("nvidia-device-plugin", {"nfd": {"worker": {"tolerationz": []}, "enabled": True}}, ["nfd.worker.tolerationz"]),
        # gpu-operator's NFD switch is nfd.enabled; the same key under the subchart's own name does nothing.
        (
            "gpu-operator",
            {"node-feature-discovery": {"enabled": False}, "nfd": {"enabeld": True}},
            ["node-feature-discovery.enabled", "nfd.enabeld"],
        ),
    ],
    ids=["gfd-enable", "operator-shape-on-plugin", "plugin-shape-on-operator", "nfd-subchart-key", "nfd-switch"],
)
def test_an_ignored_values_key_is_reported(chart, values, expected):
    assert unknown_release_value_paths(values, chart_dir(chart)) == expected


def test_free_form_values_follow_the_documented_rules():
    known = known_values(chart_values(chart_dir("gpu-operator")))
    values = {
        "devicePlugin": {"config": {"data": {"any-name": "x"}}},  # empty-map default: an open map
        "daemonsets": {"tolerations": [{"key": "k", "operator": "Exists"}]},  # list default: replaced whole
        "operator": {"nodeSelector": {"any/label": "x"}},  # Kubernetes pass-through key
        "node-feature-discovery": {"worker": {"nodeSelector": {"a": "b"}}},  # same, inside the subchart
        "global": {"imagePullSecrets": []},
    }
    assert unknown_value_paths(values, known) == []
    assert unknown_value_paths({"global": {"registry": "x"}}, known) == ["global.registry"]
    karpenter = known_values(chart_values(chart_dir("karpenter")))
    assert (
        unknown_value_paths({"nodeSelector": {"karpenter.sh/controller": "true"}}, karpenter) == []
    )  # non-empty default
    assert unknown_value_paths({"nodeSelector": {"x": "y"}}, karpenter, free_form_keys=frozenset()) == [
        "nodeSelector.x"
    ]


def test_a_pin_without_a_chart_source_fails_naming_the_chart():
    with pytest.raises(
        ChartSourceError, match=r"chart 'dcgm-exporterr' \(pinned 4\.8\.2\) has no source folder .*held: .*gpu-operator"
    ):
        check_pin("dcgm-exporterr", "4.8.2")


def test_a_pin_bump_without_a_new_chart_source_fails_naming_both_versions(stack_or_variant_run):
    pin = next(p for p in release_pins(stack_or_variant_run("prod")) if p["chart"] == "gpu-operator")
    with pytest.raises(
        ChartSourceError, match=r"gpu-operator is pinned at v26\.8\.0 but the chart source .* is version v26\.7\.0"
    ):
        render_release({**pin, "version": "v26.8.0"}, "1.34")


def test_a_built_in_object_violating_its_schema_fails(rendered_releases, held):
    deployment = next(o for o in rendered_releases("prod")["karpenter"].objects if o["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "2"
    broken["spec"]["template"]["spec"]["tolerations"][0]["tolerationSecond"] = 30  # misspelt field
    report = validate_objects([deployment, broken], "1.34", held)
    assert report.builtin == 2
    assert [p.split(" violates ")[1] for p in report.problems] == [
        "the Kubernetes 1.34 schema: spec.replicas: '2' is not of type 'integer', 'null'",
        "the Kubernetes 1.34 schema: spec.template.spec.tolerations.0: Additional properties are not allowed "
        "('tolerationSecond' was unexpected)",
    ]
    assert report.problems[0].startswith(
        "apps/v1 Deployment kube-system/karpenter (karpenter/templates/deployment.yaml)"
    )
    import kubernetes_validate  # the package's own entry point agrees (it stops at the first error)

    with pytest.raises(kubernetes_validate.ValidationError, match="is not of type 'integer'"):
        kubernetes_validate.validate(broken, "1.34.0", strict=True)


def test_a_wrongly_typed_value_that_renders_is_caught_in_the_rendered_object(rendered_releases, held):
    values = merge(real_values(rendered_releases, "prod", "karpenter"), {"tolerations": "CriticalAddonsOnly"})
    release = render_chart("karpenter", values, release="karpenter", namespace="kube-system", kube_version="1.34")
    problems = validate_objects(release.objects, "1.34", held).problems
    assert any(
        "Deployment" in p and "spec.template.spec.tolerations: 'CriticalAddonsOnly' is not of type 'array'" in p
        for p in problems
    ), problems


def test_a_cluster_policy_violating_its_crd_fails(rendered_releases, held):
    policy = next(o for o in rendered_releases("prod")["gpu-operator"].objects if o["kind"] == "ClusterPolicy")
    broken = copy.deepcopy(policy)
    broken["spec"]["mig"]["strategy"] = "dynamic"
    broken["spec"]["devicePlugin"]["confg"] = {"name": "x"}
    report = validate_objects([policy, broken], "1.34", held)
    assert report.custom == 2
    problems = [p.split(" violates ")[1] for p in report.problems]
    assert (
        "the CRD charts/gpu-operator/crds/nvidia.com_clusterpolicies.yaml: spec.mig.strategy: must be one of "
        '[none, single, mixed], got "dynamic"' in problems
    )
    assert any('spec.devicePlugin.confg: unknown field "confg"' in p for p in problems)


def test_a_kind_with_no_schema_fails_unless_allow_listed(held):
    monitor = {"apiVersion": "monitoring.example.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "dcgm"}}
    assert (
        "neither a built-in kind of Kubernetes 1.34 nor served by a CRD we hold"
        in validate_objects([monitor], "1.34", held).problems[0]
    )
    allowed = validate_objects(
        [monitor], "1.34", held, unvalidated={("monitoring.example.com/v1", "ServiceMonitor"): "reason"}
    )
    assert (allowed.unvalidated, allowed.problems) == (1, [])


def test_a_custom_group_is_not_mistaken_for_a_built_in_one():
    schemas = builtin_schemas("1.34")
    assert schemas.knows("apps/v1", "Deployment")
    assert not schemas.knows("apps.example.com/v1", "Deployment")  # same file name in kubernetes-validate


def test_the_held_crds_cover_the_charts_crds_folders_and_karpenter(held):
    for api_version, kind in [
        ("nvidia.com/v1", "ClusterPolicy"),
        ("nfd.k8s-sigs.io/v1alpha1", "NodeFeatureRule"),
        ("karpenter.sh/v1", "NodePool"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("eks.amazonaws.com/v1alpha1", "NodeDiagnostic"),
    ]:
        assert held.knows(api_version, kind), (api_version, kind)
    assert crd_documents("kind: ConfigMap\n---\nkind: CustomResourceDefinition\nspec: {}\n") == [
        {"kind": "CustomResourceDefinition", "spec": {}}
    ]


def merge(base, change):
    """`base` with `change` deep-merged in (dicts merge, anything else replaces)."""
    out = dict(base)
    for key, value in change.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
