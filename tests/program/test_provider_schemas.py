"""Every registered resource's inputs satisfy the pinned providers' schemas (issue 8, item 5).

The schemas are preflight/data/provider-schemas/*.json.gz: derived by tools/regen_provider_schemas.py from
the pinned Python SDKs, because no pinned schema.json could be obtained here (SOURCE.txt there says why and what
each file was made from); for eks and awsx the derivation is checked against real upstream schema.json files, for
aws and kubernetes against facts read by hand from the pinned SDKs (test_provider_schema_facts.py).
The check itself is preflight/validate/provider_schema.py.
"""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest

from preflight.model.harness import Registration, StackRun
from preflight.validate.provider_schema import SKIPPED_TYPES, SchemaSet, skip_reason
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS
from tools.regen_provider_schemas import OUT_DIR, PROVIDERS, compare_schemas, derive, pinned_versions

STACKS = [*REPO_STACKS, *(variant.name for variant in STACK_VARIANTS)]

# Types every stack registers through a provider with a schema: the check must have seen each of them, so a
# harness change that stopped recording them (or a skip rule that swallowed them) cannot pass vacuously.
ALWAYS_CHECKED = {
    "aws:kms/key:Key",
    "aws:iam/role:Role",
    "eks:index:Cluster",
    "eks:index:ManagedNodeGroup",
    "kubernetes:helm.sh/v3:Release",
    "pulumi:providers:kubernetes",
}


def _load(name: str) -> dict[str, Any]:
    return json.loads(gzip.decompress((OUT_DIR / f"{name}.json.gz").read_bytes()))


def _mutated(run: StackRun, type_token: str, change, name: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """(type, name, inputs) of a real registration after `change(inputs)`; the run itself is left untouched."""
    registration: Registration = next(r for r in run.resources if r.type == type_token and name in (None, r.name))
    inputs = copy.deepcopy(registration.plain_inputs())
    change(inputs)
    return registration.type, registration.name, inputs


# -- provenance --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_schema_versions_are_the_requirements_pins(provider_schemas: SchemaSet, provider: str):
    """A pin bump in requirements.txt without regenerated schemas fails here, naming the recorded source."""
    schema = provider_schemas.schemas[provider]
    pin = pinned_versions()[PROVIDERS[provider]["dist"]]
    assert schema.version == pin, f"{schema.describe()} but requirements.txt pins {pin}: rerun build_provider_schemas"
    source = schema.source
    assert source["tag"] == f"v{pin}", schema.describe()
    assert source["repository"].startswith("https://github.com/pulumi/"), schema.describe()
    assert source["sdk"] == {
        "distribution": PROVIDERS[provider]["dist"],
        "version": pin,
        "wheel_sha256": source["sdk"]["wheel_sha256"],
    }, schema.describe()


def test_committed_schemas_are_what_the_build_script_derives_from_the_installed_pinned_sdks():
    """The data files are reproducible: regenerating them from the pinned SDKs changes nothing.

    The build also refuses SDK files that differ from their wheel's RECORD, so this pins the data to the
    pristine pinned wheels rather than to whatever happens to be installed.
    """
    derived = derive()
    for name in PROVIDERS:
        assert derived[name] == _load(name), (
            f"preflight/data/provider-schemas/{name}.json.gz is stale: run .venv/bin/python -m "
            "tools.regen_provider_schemas"
        )


@pytest.mark.parametrize("provider", ["eks", "awsx"])
def test_sdk_derivation_matches_the_real_upstream_schema_file(provider: str):
    """The derivation method reproduces a real schema.json: every input name, required flag, type and enum value.

    The upstream files are trimmed copies of schema.json at the newest commits of the repository snapshots
    (recorded in their `source` block); the same check on aws and kubernetes is impossible here (SOURCE.txt).
    """
    derived, upstream = _load(provider), _load(f"{provider}.upstream")
    source = upstream["source"]
    assert derived["source"]["cross_check"]["commit"] == source["commit"]
    differences = compare_schemas(derived, upstream)
    assert not differences, (
        f"derived {provider} {derived['version']} differs from {source['repository']} "
        f"{source['path']} at {source['commit']} ({source['describe']}):\n" + "\n".join(differences)
    )


def test_comparison_of_derived_and_upstream_schemas_reports_a_dropped_input():
    """The cross-check above can fail: a schema missing one input of eks.Cluster is reported."""
    derived, upstream = _load("eks"), _load("eks.upstream")
    derived["resources"]["eks:index:Cluster"]["inputProperties"].pop("vpcId")
    assert compare_schemas(derived, upstream) == [
        "eks:index:Cluster: properties only derived [], only upstream ['vpcId']"
    ]


# -- every registration of every stack ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_registered_resource_satisfies_its_provider_schema(
    stack: str, stack_or_variant_run, provider_schemas: SchemaSet
):
    """All inputs of all registered resources are known, well-typed, complete and within their enums."""
    run = stack_or_variant_run(stack)
    checked = set()
    problems = []
    for registration in run.resources:
        if provider_schemas.skip_reason_of(registration):
            continue
        checked.add(registration.type)
        problems += provider_schemas.problems(registration)
    assert not problems, f"{stack}:\n" + "\n".join(problems)
    assert checked >= ALWAYS_CHECKED, f"{stack}: never checked {sorted(ALWAYS_CHECKED - checked)}"


def test_a_type_without_a_pinned_schema_fails(provider_schemas: SchemaSet):
    """An unknown type is a failure (with the schema's origin), not a silent pass, for every provider."""
    for token in (
        "aws:kms/keys:Keys",
        "kubernetes:core/v1:Namespac",
        "eks:index:Clusters",
        "awsx:ec2:Vpcs",
        "random:index/randomPet:RandomPet",
        "pulumi:providers:random",
    ):
        assert skip_reason(token) is None
        problems = provider_schemas.check_inputs(token, "x", {})
        assert len(problems) == 1 and "type not declared by" in problems[0], problems
    assert "pulumi/pulumi-aws tag v" in provider_schemas.check_inputs("aws:kms/keys:Keys", "x", {})[0]


def test_only_the_programs_own_components_and_karpenter_custom_resources_are_skipped():
    """Skips are explicit, each with a reason; everything else a stack registers must have a schema."""
    assert "preflight/validate/crd.py" in skip_reason("kubernetes:karpenter.sh/v1:NodePool")
    assert "preflight/validate/crd.py" in skip_reason("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert "ComponentResource" in skip_reason("gpu-eks:cluster:Cluster")
    assert skip_reason("kubernetes:helm.sh/v3:Release") is None
    assert skip_reason("kubernetes:nvidia.com/v1:ClusterPolicy") is None  # no blanket pass for CRs
    assert all(reason for reason in SKIPPED_TYPES.values())


def test_components_a_plugin_registers_inside_a_remote_component_are_skipped(stack_run, provider_schemas: SchemaSet):
    """pulumi-eks' own ServiceRole/VpcCniAddon components carry no inputs; the same type at top level does not
    get that pass, and custom resources under a remote component are always checked."""
    run = stack_run("dev")
    inner = run.one("eks:index:ServiceRole")
    assert "registers inside its eks:index:Cluster" in (provider_schemas.skip_reason_of(inner) or "")
    top_level = Registration(**{**inner.__dict__, "parent_urn": run.one("gpu-eks:cluster:Cluster").urn})
    assert provider_schemas.skip_reason_of(top_level) is None
    assert provider_schemas.problems(top_level)[0].startswith(
        "eks:index:ServiceRole 'cluster-eks-eksRole': type not declared by eks 4.4.0 schema"
    )
    child = next(r for r in run.resources if r.type == "aws:eks/cluster:Cluster")
    assert child.parent_urn and provider_schemas.skip_reason_of(child) is None


# -- one negative test per rule, each from a real registration --------------------------------------------------


def test_an_unknown_property_is_reported(stack_run, provider_schemas: SchemaSet):
    """A misspelt input (`enableKeyRotations`) is named with its resource and the schema's origin."""
    problems = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "aws:kms/key:Key", lambda i: i.update(enableKeyRotations=True))
    )
    assert len(problems) == 1
    assert problems[0].startswith("aws:kms/key:Key 'cluster-secrets-key': enableKeyRotations: unknown property")
    assert "enableKeyRotation," in problems[0]  # the real name is listed among the known ones
    assert "pulumi/pulumi-aws tag v7.51.1" in problems[0]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("30", "deletionWindowInDays: expected integer, got str '30'"),
        (7.5, "deletionWindowInDays: expected integer, got float 7.5"),
        (True, "deletionWindowInDays: expected integer, got bool True"),
    ],
)
def test_a_wrong_type_is_reported(stack_run, provider_schemas: SchemaSet, value, expected):
    """Strings, non-integral numbers and booleans are not integers (the engine would reject or coerce them)."""
    problems = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "aws:kms/key:Key", lambda i: i.update(deletionWindowInDays=value))
    )
    assert [p.rsplit(" [", 1)[0] for p in problems] == [f"aws:kms/key:Key 'cluster-secrets-key': {expected}"]


def test_wrong_types_in_arrays_maps_and_booleans_are_reported(stack_run, provider_schemas: SchemaSet):
    """Items of arrays, values of maps and booleans are checked too."""

    def change(inputs):
        inputs["enabledClusterLogTypes"] = ["api", 7]
        inputs["tags"] = {"gpu-eks/stack": ["dev"]}
        inputs["endpointPrivateAccess"] = "true"

    problems = [
        p.rsplit(" [", 1)[0]
        for p in provider_schemas.check_inputs(*_mutated(stack_run("dev"), "eks:index:Cluster", change))
    ]
    assert problems == [
        "eks:index:Cluster 'cluster-eks': enabledClusterLogTypes[1]: expected string, got int 7",
        "eks:index:Cluster 'cluster-eks': endpointPrivateAccess: expected boolean, got str 'true'",
        "eks:index:Cluster 'cluster-eks': tags['gpu-eks/stack']: expected string, got list ['dev']",
    ]


def test_a_missing_required_input_is_reported(stack_run, provider_schemas: SchemaSet):
    """A Helm release without `chart` and an attachment without `policyArn` are both caught."""
    release = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "kubernetes:helm.sh/v3:Release", lambda i: i.pop("chart"))
    )
    assert [p.rsplit(" [", 1)[0] for p in release] == [
        "kubernetes:helm.sh/v3:Release 'karpenter-crd': chart: required input missing"
    ]
    attachment = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "aws:iam/rolePolicyAttachment:RolePolicyAttachment", lambda i: i.pop("policyArn"))
    )
    assert len(attachment) == 1 and ": policyArn: required input missing" in attachment[0]


def test_a_required_input_that_is_an_unknown_output_still_counts_as_missing(stack_run, provider_schemas: SchemaSet):
    """None (an unresolved output) passes for optional inputs but not for required ones."""
    assert (
        provider_schemas.check_inputs(
            *_mutated(stack_run("dev"), "aws:kms/key:Key", lambda i: i.update(description=None))
        )
        == []
    )
    problems = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "aws:iam/role:Role", lambda i: i.update(assumeRolePolicy=None))
    )
    assert len(problems) == 1 and ": assumeRolePolicy: required input missing" in problems[0]


def test_a_value_outside_an_enum_is_reported(stack_run, provider_schemas: SchemaSet):
    """Enum types (eks AuthenticationMode, awsx NatGatewayStrategy) list their allowed values."""
    cluster = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "eks:index:Cluster", lambda i: i.update(authenticationMode="APIX"))
    )
    assert [p.rsplit(" [", 1)[0] for p in cluster] == [
        "eks:index:Cluster 'cluster-eks': authenticationMode: 'APIX' is not a eks:index:AuthenticationMode "
        "(allowed: ['CONFIG_MAP', 'API', 'API_AND_CONFIG_MAP'])"
    ]
    vpc = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "awsx:ec2:Vpc", lambda i: i["natGateways"].update(strategy="Double"))
    )
    assert len(vpc) == 1 and "natGateways.strategy: 'Double' is not a awsx:ec2:NatGatewayStrategy" in vpc[0]


def test_a_const_input_with_another_value_is_reported(stack_run, provider_schemas: SchemaSet):
    """Release.compat is the constant "true" in the schema."""
    problems = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "kubernetes:helm.sh/v3:Release", lambda i: i.update(compat="false"))
    )
    assert len(problems) == 1 and "compat: must be 'true', got 'false'" in problems[0]


def test_bad_nested_properties_are_reported_with_their_path(stack_run, provider_schemas: SchemaSet):
    """Unknown names, bad enum values and missing required fields inside object types, also across providers."""

    def cluster_change(inputs):
        inputs["kubeProxyAddonOptions"]["versions"] = "v1"
        inputs["corednsAddonOptions"]["resolveConflictsOnCreate"] = "CLOBBER"
        inputs["accessEntries"]["admin-0"]["accessPolicies"]["cluster-admin"]["accessScope"]["types"] = "cluster"

    problems = [
        p.rsplit(" [", 1)[0]
        for p in provider_schemas.check_inputs(*_mutated(stack_run("dev"), "eks:index:Cluster", cluster_change))
    ]
    assert problems == [
        "eks:index:Cluster 'cluster-eks': accessEntries['admin-0'].accessPolicies['cluster-admin'].accessScope."
        "types: unknown property (known: namespaces, type)",
        "eks:index:Cluster 'cluster-eks': corednsAddonOptions.resolveConflictsOnCreate: 'CLOBBER' is not a "
        "eks:index:ResolveConflictsOnCreate (allowed: ['NONE', 'OVERWRITE'])",
        "eks:index:Cluster 'cluster-eks': kubeProxyAddonOptions.versions: unknown property (known: "
        "configurationValues, enabled, resolveConflictsOnCreate, resolveConflictsOnUpdate, version)",
    ]
    # eks.ManagedNodeGroup.taints are aws:eks/NodeGroupTaint objects: the $ref crosses into the aws schema.
    taints = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "eks:index:ManagedNodeGroup", lambda i: i["taints"][0].pop("key"))
    )
    assert len(taints) == 1 and "taints[0].key: required input missing" in taints[0]
    vpc = provider_schemas.check_inputs(
        *_mutated(stack_run("dev"), "awsx:ec2:Vpc", lambda i: i["subnetSpecs"][0].update(cidrMasks=19))
    )
    assert len(vpc) == 1 and "subnetSpecs[0].cidrMasks: unknown property" in vpc[0]


def test_a_resource_reference_to_the_wrong_type_is_reported(stack_run, provider_schemas: SchemaSet):
    """`cluster` of a ManagedNodeGroup must reference an eks.Cluster; an IAM role's URN is refused."""
    run = stack_run("dev")
    role_urn = run.one("aws:iam/role:Role", "cluster-controller-node-role").urn
    problems = provider_schemas.check_inputs(
        *_mutated(run, "eks:index:ManagedNodeGroup", lambda i: i.update(cluster=role_urn))
    )
    assert len(problems) == 1 and "cluster: " in problems[0] and "matches none of" in problems[0]
    problems = provider_schemas.check_inputs(
        *_mutated(run, "eks:index:ManagedNodeGroup", lambda i: i.update(nodeRole="arn:aws:iam::1:role/x"))
    )
    assert len(problems) == 1 and "nodeRole: expected a reference to a aws:iam/role:Role" in problems[0]


def test_provider_inputs_are_checked_after_the_sdks_json_encoding(stack_run, provider_schemas: SchemaSet):
    """The SDK sends non-string provider inputs as JSON text: "true" is a boolean, "yes" is not."""
    run = stack_run("dev")
    assert (
        provider_schemas.check_inputs(
            *_mutated(run, "pulumi:providers:kubernetes", lambda i: i.update(enableServerSideApply="true"))
        )
        == []
    )
    problems = provider_schemas.check_inputs(
        *_mutated(run, "pulumi:providers:kubernetes", lambda i: i.update(enableServerSideApply="yes"))
    )
    assert len(problems) == 1 and "enableServerSideApply: provider input is not JSON-encoded boolean" in problems[0]
    problems = provider_schemas.check_inputs(
        *_mutated(run, "pulumi:providers:kubernetes", lambda i: i.update(kubeConfig="{}"))
    )
    assert len(problems) == 1 and "kubeConfig: unknown property" in problems[0]
