"""Hand-checked facts about the pinned aws and kubernetes provider schemas (issue 21, item 4).

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
"""

from __future__ import annotations

from typing import Any

import pytest

from preflight.validate.provider_schema import SchemaSet

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
