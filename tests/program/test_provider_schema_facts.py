"""The pinned aws and kubernetes provider schemas checked without their generator (issue 21, item 4): a second
derivation from the imported SDKs, and hand-checked facts.

preflight/data/provider-schemas/{aws,kubernetes}.json.gz are written by tools/regen_provider_schemas.py, and
test_provider_schemas.py's reproducibility test only asks that generator whether its own output is current; eks and
awsx are also compared with real upstream schema.json files, aws and kubernetes cannot be (SOURCE.txt there). So a
generator bug (a wrong type mapping, a dropped required input, a lost property name) would regenerate into the data
and pass. These facts are typed in, never computed: each was read by eye on 2026-12-06 from the pinned SDK source,
i.e. the constructor signature of the resource's *Args class (a parameter without a default is a required input;
`pulumi.Input[Optional[_builtins.int]]` is an integer) and its `@pulumi.getter(name=...)` wire name, in

  pulumi-aws 7.51.1         https://github.com/pulumi/pulumi-aws/tree/v7.51.1/sdk/python/pulumi_aws
                            (installed wheel sha256 bffc7fb6ce352e9019302498571799a771f7a84234b19ff8b1710a6250b31024)
  pulumi-kubernetes 4.34.2  https://github.com/pulumi/pulumi-kubernetes/tree/v4.34.2/sdk/python/pulumi_kubernetes
                            (installed wheel sha256 94c94b6ce3facd2693b7f8e73adb589c38a8157da3289009db8e892b14ee68cb)

and, for the meaning, the same properties' docstrings there (e.g. KeyArgs: "deletion_window_in_days: Waiting period,
specified in number of days ... between 7 and 30"). The chosen properties are the ones the program sets.

The second derivation (tests/support/sdk_inputs.py) covers every kept resource, object type, enum and the provider
itself: it imports the SDK and reads the Args constructors' signatures and evaluated annotations at run time, where
the generator parses the source text with `ast`.
"""

from __future__ import annotations

from typing import Any

import pytest

from preflight.validate.provider_schema import SchemaSet
from tests.support import sdk_inputs

SDK_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}

INTEGER = {"type": "integer"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# (provider, resource token) -> (the complete requiredInputs, some inputProperties exactly as the schema spells them).
RESOURCES: dict[tuple[str, str], tuple[list[str], dict[str, Any]]] = {
    # pulumi_aws/kms/key.py KeyArgs.__init__: every parameter defaults to None.
    ("aws", "aws:kms/key:Key"): (
        [],
        {
            "deletionWindowInDays": INTEGER,
            "enableKeyRotation": BOOLEAN,
            "keyUsage": STRING,
            "policy": STRING,
            "tags": STRING_MAP,
        },
    ),
    # pulumi_aws/iam/role.py RoleArgs.__init__(assume_role_policy: pulumi.Input[Union[_builtins.str,
    # 'PolicyDocumentArgs']], ..., max_session_duration: pulumi.Input[Optional[_builtins.int]] = None, ...).
    ("aws", "aws:iam/role:Role"): (["assumeRolePolicy"], {"maxSessionDuration": INTEGER, "name": STRING}),
    # pulumi_aws/iam/role_policy_attachment.py RolePolicyAttachmentArgs.__init__(policy_arn: pulumi.Input[str],
    # role: pulumi.Input[str]): both required.
    ("aws", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"): (
        ["policyArn", "role"],
        {"policyArn": STRING, "role": STRING},
    ),
    # pulumi_aws/eks/addon.py AddonArgs.__init__(addon_name, cluster_name: pulumi.Input[str], ...).
    ("aws", "aws:eks/addon:Addon"): (
        ["addonName", "clusterName"],
        {"addonName": STRING, "clusterName": STRING, "resolveConflictsOnUpdate": STRING},
    ),
    # pulumi_aws/sqs/queue.py QueueArgs.__init__: all optional.
    ("aws", "aws:sqs/queue:Queue"): (
        [],
        {"messageRetentionSeconds": INTEGER, "sqsManagedSseEnabled": BOOLEAN, "fifoQueue": BOOLEAN},
    ),
    # pulumi_aws/cloudwatch/metric_alarm.py MetricAlarmArgs.__init__: all optional; threshold: ...[_builtins.float].
    # The only float among the kept resources' inputs that matter here: eks and awsx have none, so only this fact
    # catches a generator that maps float wrongly.
    ("aws", "aws:cloudwatch/metricAlarm:MetricAlarm"): (
        [],
        {"threshold": {"type": "number"}, "evaluationPeriods": INTEGER, "comparisonOperator": STRING},
    ),
    # pulumi_kubernetes/helm/v3/Release.py ReleaseArgs.__init__(chart: pulumi.Input[_builtins.str], ...,
    # compat: pulumi.Input[Optional[Literal['true']]] = None, max_history: ...[int], skip_crds: ...[bool],
    # timeout: ...[int], values: pulumi.Input[Optional[Mapping[str, Any]]] = None, ...).
    ("kubernetes", "kubernetes:helm.sh/v3:Release"): (
        ["chart"],
        {
            "chart": STRING,
            "compat": {"type": "string", "const": "true"},
            "maxHistory": INTEGER,
            "skipCrds": BOOLEAN,
            "timeout": INTEGER,
            "values": {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Any"}},
        },
    ),
}

# pulumi_aws/ec2/_inputs.py LaunchTemplateMetadataOptionsArgs.__init__: all optional (no `required`).
LAUNCH_TEMPLATE_METADATA_OPTIONS = {
    "httpEndpoint": STRING,
    "httpProtocolIpv6": STRING,
    "httpPutResponseHopLimit": INTEGER,
    "httpTokens": STRING,
    "instanceMetadataTags": STRING,
}

# pulumi_kubernetes/provider.py ProviderArgs.__init__(..., enable_server_side_apply: ...[bool], kubeconfig: ...[str]).
KUBERNETES_PROVIDER_INPUTS = {"enableServerSideApply": BOOLEAN, "kubeconfig": STRING}


@pytest.mark.parametrize("provider, token", sorted(RESOURCES))
def test_resource_inputs_are_what_the_pinned_sdk_declares(provider_schemas: SchemaSet, provider, token):
    required, properties = RESOURCES[provider, token]
    resource = provider_schemas.schemas[provider].document["resources"][token]
    assert sorted(resource.get("requiredInputs", [])) == required
    assert {name: resource["inputProperties"].get(name) for name in properties} == properties


def test_a_nested_object_type_is_what_the_pinned_sdk_declares(provider_schemas: SchemaSet):
    aws = provider_schemas.schemas["aws"].document
    launch_template = aws["resources"]["aws:ec2/launchTemplate:LaunchTemplate"]["inputProperties"]
    ref = "#/types/aws:ec2%2FLaunchTemplateMetadataOptions:LaunchTemplateMetadataOptions"
    assert launch_template["metadataOptions"] == {"$ref": ref}
    options = aws["types"]["aws:ec2/LaunchTemplateMetadataOptions:LaunchTemplateMetadataOptions"]
    assert options.get("required", []) == []
    assert options["properties"] == LAUNCH_TEMPLATE_METADATA_OPTIONS


def test_the_kubernetes_provider_inputs_are_what_the_pinned_sdk_declares(provider_schemas: SchemaSet):
    inputs = provider_schemas.schemas["kubernetes"].document["provider"]["inputProperties"]
    assert {name: inputs.get(name) for name in KUBERNETES_PROVIDER_INPUTS} == KUBERNETES_PROVIDER_INPUTS


# -- the second derivation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(SDK_PACKAGES))
def test_every_input_of_every_kept_resource_type_and_enum_matches_the_imported_sdk(
    provider_schemas: SchemaSet, provider
):
    compared, found = sdk_inputs.differences(provider_schemas.schemas[provider].document, SDK_PACKAGES[provider])
    assert found == []
    # Not vacuous: the trimmed schemas keep 226 aws resources and 457 aws types (SOURCE.txt), 7 kubernetes resources.
    assert compared > {"aws": 600, "kubernetes": 100}[provider]


def test_the_second_derivation_reports_a_dropped_input_a_wrong_type_and_a_lost_required_flag():
    # A hand-written schema fragment with known mistakes, so this holds whatever the data files say.
    document = {
        "resources": {
            "aws:kms/key:Key": {
                "inputProperties": {"deletionWindowInDays": {"type": "number"}, "enableKeyRotation": BOOLEAN},
                "requiredInputs": [],
            },
            "aws:eks/addon:Addon": {
                "inputProperties": {"addonName": STRING, "clusterName": STRING},
                "requiredInputs": ["addonName"],
            },
        },
        "types": {
            "aws:ec2/LaunchTemplateMetadataOptions:LaunchTemplateMetadataOptions": {
                "type": "object",
                "properties": {**LAUNCH_TEMPLATE_METADATA_OPTIONS, "httpTokens": INTEGER},
            }
        },
    }
    compared, found = sdk_inputs.differences(document, "pulumi_aws")
    assert compared == 3
    assert "aws:kms/key:Key.deletionWindowInDays: 'number', the SDK says 'integer'" in found
    assert "aws:eks/addon:Addon: required ['addonName'], the SDK requires ['addonName', 'clusterName']" in found
    assert (
        "aws:ec2/LaunchTemplateMetadataOptions:LaunchTemplateMetadataOptions.httpTokens: 'integer', the SDK says "
        "'string'"
    ) in found
    (key_inputs,) = [line for line in found if line.startswith("aws:kms/key:Key: inputs only in the SDK [")]
    assert "'keyUsage'" in key_inputs and "'enableKeyRotation'" not in key_inputs
    # The fifth: the fragment lists only two of the Addon's inputs.
    assert len(found) == 5 and any(line.startswith("aws:eks/addon:Addon: inputs only in the SDK [") for line in found)
