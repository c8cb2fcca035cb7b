"""Behaviour of the offline CRD validator (preflight/validate/crd.py) against Karpenter v1.14.1.

Each negative test breaks exactly one upstream rule and asserts the *whole* violation list, so a test
cannot pass because some other rule happened to fire. The CRDs are read from the pinned upstream
folder at test time (tests.support.upstream), parsed and compiled once per module.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.validate.crd import (
    CEL_SKIPPED_NOTICE,
    CelRuleError,
    CrdValidator,
    compile_rule,
    is_transition_rule,
)
from tests.support.upstream import upstream_dir

CEL_SKIPPED = f"<root>: {CEL_SKIPPED_NOTICE}"


@pytest.fixture(scope="module")
def karpenter_dir() -> Path:
    return upstream_dir() / "karpenter"


@pytest.fixture(scope="module")
def validator(karpenter_dir: Path) -> CrdValidator:
    return CrdValidator.from_directory(karpenter_dir)


# --- hand-written example objects -------------------------------------------------------------


def ec2nodeclass() -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "gpu"},
        "spec": {
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "role": "KarpenterNodeRole-gpu-eks",
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "gpu-eks"}}],
            "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "gpu-eks"}}],
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "rootVolume": True,
                    "ebs": {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": True},
                }
            ],
            "tags": {"project": "gpu-eks"},
        },
    }


def minimal_nodepool() -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "template": {
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    "requirements": [
                        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5", "g6"]}
                    ],
                }
            }
        },
    }


def gpu_nodepool() -> dict[str, Any]:
    pool = minimal_nodepool()
    pool["spec"]["template"]["metadata"] = {"labels": {"workload": "gpu"}}
    pool["spec"]["template"]["spec"].update(
        {
            "requirements": [
                {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5", "g6"]},
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]},
                {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Gt", "values": ["0"]},
            ],
            "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            "expireAfter": "720h",
        }
    )
    pool["spec"]["limits"] = {"nvidia.com/gpu": 16, "cpu": "512", "memory": "2048Gi"}
    pool["spec"]["disruption"] = {
        "consolidationPolicy": "WhenEmpty",
        "consolidateAfter": "10m",
        "budgets": [
            {"nodes": "10%"},
            {"nodes": "0", "schedule": "0 9 * * mon-fri", "duration": "8h", "reasons": ["Drifted"]},
        ],
    }
    return pool


def nodeoverlay() -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1alpha1",
        "kind": "NodeOverlay",
        "metadata": {"name": "g5-gpu-capacity"},
        "spec": {
            "requirements": [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5"]}],
            "capacity": {"nvidia.com/gpu": "4"},
        },
    }


def single(violations: list[str]) -> str:
    """The only violation; fails listing them all otherwise, so a test cannot pass for another reason."""
    assert len(violations) == 1, "expected exactly one violation, got:\n" + "\n".join(violations)
    return violations[0]


# --- valid objects ----------------------------------------------------------------------------


def test_minimal_valid_nodepool_passes(validator: CrdValidator) -> None:
    assert validator.validate(minimal_nodepool()) == []


@pytest.mark.parametrize("make", [ec2nodeclass, gpu_nodepool, nodeoverlay], ids=lambda f: f.__name__)
def test_realistic_gpu_objects_pass(validator: CrdValidator, make: Any) -> None:
    validator.assert_valid(make())


def test_valid_nodeclaim_passes(validator: CrdValidator) -> None:
    claim = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {"name": "gpu-abcde"},
        "spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
            "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge"]}],
            "resources": {"requests": {"nvidia.com/gpu": 1, "memory": "8Gi"}},
        },
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "",
                    "lastTransitionTime": "2026-08-20T10:00:00Z",
                }
            ]
        },
    }
    validator.assert_valid(claim)


def test_date_time_format_is_checked(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["template"]["spec"]["taints"] = [
        {"key": "nvidia.com/gpu", "effect": "NoSchedule", "timeAdded": "yesterday"}
    ]

    violation = single(validator.validate(pool))

    assert violation == 'spec.template.spec.taints[0].timeAdded: must be an RFC 3339 date-time, got "yesterday"'


def test_validate_does_not_modify_its_input(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    before = copy.deepcopy(pool)
    validator.validate(pool)
    assert pool == before


# --- schema (OpenAPI) violations --------------------------------------------------------------


def test_nodepool_with_bad_operator_breaks_schema_enum(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Equals"

    violations = validator.validate(pool)

    assert violations == [
        "spec.template.spec.requirements[0].operator: must be one of "
        '[Gte, Lte, In, NotIn, Exists, DoesNotExist, Gt, Lt], got "Equals"',
        # Like the API server, an enum error blocks CEL and says so.
        CEL_SKIPPED,
    ]


@pytest.mark.parametrize(
    "where, field",
    [
        (lambda o: o, "specs"),
        (lambda o: o["spec"]["template"]["spec"], "nodeClass"),
        (lambda o: o["spec"]["template"]["spec"]["requirements"][0], "value"),
    ],
    ids=["top-level", "nested-object", "inside-list-item"],
)
def test_unknown_field_is_rejected(validator: CrdValidator, where: Any, field: str) -> None:
    pool = minimal_nodepool()
    where(pool)[field] = "x"
    expected_path = {
        "specs": "specs",
        "nodeClass": "spec.template.spec.nodeClass",
        "value": "spec.template.spec.requirements[0].value",
    }[field]

    assert single(validator.validate(pool)) == f'{expected_path}: unknown field "{field}"'


def test_free_form_maps_accept_any_key(validator: CrdValidator) -> None:
    node_class = ec2nodeclass()
    node_class["spec"]["tags"]["any/key.with-odd_chars"] = "ok"
    assert validator.validate(node_class) == []


def test_missing_required_field_is_reported_at_the_field(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    del pool["spec"]["template"]["spec"]["nodeClassRef"]["name"]

    assert validator.validate(pool) == ["spec.template.spec.nodeClassRef.name: Required value", CEL_SKIPPED]


@pytest.mark.parametrize("quantity", ["4", 4, "100Gi", "500m", "1e3"])
def test_int_or_string_quantity_accepts_integers_and_quantity_strings(validator: CrdValidator, quantity: Any) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["capacity"] = {"nvidia.com/gpu": quantity}
    assert validator.validate(overlay) == []


def test_int_or_string_quantity_string_must_match_the_quantity_pattern(validator: CrdValidator) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["capacity"] = {"nvidia.com/gpu": "4 GPUs"}

    violation = single(validator.validate(overlay))

    assert violation.startswith("spec.capacity[nvidia.com/gpu]: must match pattern '^(\\+|-)?")
    assert violation.endswith('got "4 GPUs"')


@pytest.mark.parametrize("value, shown", [(1.5, "number 1.5"), (True, "boolean true")])
def test_int_or_string_rejects_other_types(validator: CrdValidator, value: Any, shown: str) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["capacity"] = {"nvidia.com/gpu": value}

    assert validator.validate(overlay) == [
        f"spec.capacity[nvidia.com/gpu]: must be an integer or a string, got {shown}",
        CEL_SKIPPED,
    ]


def test_integer_field_rejects_a_string(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["weight"] = "10"

    assert validator.validate(pool) == ['spec.weight: must be of type integer, got string "10"', CEL_SKIPPED]


def test_integer_bounds_are_checked(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["weight"] = 101

    assert single(validator.validate(pool)) == "spec.weight: must be less than or equal to 100, got 101"


def test_list_type_set_rejects_duplicates(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["disruption"] = {"consolidateAfter": "0s", "budgets": [{"nodes": "1", "reasons": ["Empty", "Empty"]}]}

    violation = single(validator.validate(pool))

    assert violation.startswith('spec.disruption.budgets[0].reasons[1]: duplicate value "Empty"')


def test_metadata_name_must_be_a_dns_subdomain(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["metadata"]["name"] = "GPU_pool"

    violation = single(validator.validate(pool))

    assert violation.startswith("metadata.name: a lowercase RFC 1123 subdomain")
    assert violation.endswith('got "GPU_pool"')


def test_missing_metadata_name_is_required(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["metadata"] = {"labels": {"a": "b"}}

    assert single(validator.validate(pool)) == "metadata.name: Required value"


def test_unknown_api_version_or_kind_is_a_violation(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["apiVersion"] = "karpenter.sh/v1beta1"

    violation = single(validator.validate(pool))

    assert violation.startswith("apiVersion: no loaded CRD serves karpenter.sh/v1beta1 NodePool (known: ")


# --- defaulting -------------------------------------------------------------------------------


def test_nodepool_without_disruption_gets_the_server_defaults(validator: CrdValidator) -> None:
    defaulted = validator.apply_defaults(minimal_nodepool())

    assert defaulted["spec"]["disruption"] == {
        "consolidateAfter": "0s",
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "budgets": [{"nodes": "10%"}],
    }
    assert defaulted["spec"]["template"]["spec"]["expireAfter"] == "720h"
    assert defaulted["metadata"] == {"name": "gpu"}


def test_disruption_given_without_consolidate_after_is_required(validator: CrdValidator) -> None:
    # The object-level default {consolidateAfter: 0s} applies only when `disruption` is absent.
    pool = minimal_nodepool()
    pool["spec"]["disruption"] = {"consolidationPolicy": "WhenEmpty"}

    assert validator.validate(pool) == ["spec.disruption.consolidateAfter: Required value", CEL_SKIPPED]


def test_null_optional_field_is_pruned_and_null_defaulted_field_is_defaulted(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["weight"] = None
    pool["spec"]["disruption"] = None

    assert validator.validate(pool) == []
    defaulted = validator.apply_defaults(pool)
    assert "weight" not in defaulted["spec"]
    assert defaulted["spec"]["disruption"]["budgets"] == [{"nodes": "10%"}]


WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  names: {kind: Widget, plural: widgets}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            properties:
              mode: {type: string, default: fast}
              replicas: {type: integer}
            x-kubernetes-validations:
            - rule: "has(self.mode) && self.mode == 'fast' && has(self.replicas) ? self.replicas <= 3 : true"
              messageExpression: "'fast mode allows at most 3 replicas, got ' + string(self.replicas)"
              fieldPath: .replicas
"""


def test_defaulted_field_is_seen_by_cel(tmp_path: Path) -> None:
    # No upstream Karpenter rule reads a defaulted field, so a one-rule CRD proves the ordering:
    # without defaulting, has(self.mode) is false and the rule passes.
    (tmp_path / "widgets.yaml").write_text(WIDGET_CRD)
    widgets = CrdValidator.from_directory(tmp_path)
    widget: dict[str, Any] = {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"replicas": 5},
    }

    violation = single(widgets.validate(widget))

    assert violation.startswith("spec.replicas: CEL rule failed: fast mode allows at most 3 replicas, got 5 (rule: ")
    widget["spec"]["mode"] = "slow"
    assert widgets.validate(widget) == []


# --- CEL rules --------------------------------------------------------------------------------


def test_ec2nodeclass_with_role_and_instance_profile_breaks_cel_rule(validator: CrdValidator) -> None:
    node_class = ec2nodeclass()
    node_class["spec"]["instanceProfile"] = "KarpenterNodeInstanceProfile-gpu-eks"

    violation = single(validator.validate(node_class))

    assert violation.startswith(
        "spec: CEL rule failed: must specify exactly one of ['role', 'instanceProfile'] (rule: "
        "(has(self.role) && !has(self.instanceProfile))"
    )


def test_ec2nodeclass_alias_with_unknown_family_breaks_split_rule(validator: CrdValidator) -> None:
    node_class = ec2nodeclass()
    node_class["spec"]["amiSelectorTerms"] = [{"alias": "ubuntu@latest"}]

    violation = single(validator.validate(node_class))

    assert violation.startswith("spec.amiSelectorTerms[0].alias: CEL rule failed: family is not supported")
    assert "self.split('@')[0] in [" in violation


def test_ec2nodeclass_ami_family_contradicting_alias_breaks_find_rule(validator: CrdValidator) -> None:
    node_class = ec2nodeclass()
    node_class["spec"]["amiFamily"] = "Bottlerocket"

    violation = single(validator.validate(node_class))

    assert violation.startswith(
        "spec: CEL rule failed: if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias"
    )
    assert "x.alias.find('^[^@]+') == 'al2023'" in violation


def test_nodeoverlay_capacity_with_cpu_breaks_cel_rule(validator: CrdValidator) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["capacity"]["cpu"] = "8"

    violation = single(validator.validate(overlay))

    assert violation.startswith("spec.capacity: CEL rule failed: invalid resource restricted (rule: ")
    assert "['cpu', 'memory', 'ephemeral-storage', 'pods']" in violation


def test_nodeoverlay_price_and_price_adjustment_are_exclusive(validator: CrdValidator) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["price"] = "1.25"
    overlay["spec"]["priceAdjustment"] = "-10%"

    violation = single(validator.validate(overlay))

    assert violation == (
        "spec: CEL rule failed: cannot set both 'price' and 'priceAdjustment' "
        "(rule: !has(self.price) || !has(self.priceAdjustment))"
    )
    del overlay["spec"]["price"]
    assert validator.validate(overlay) == []


def test_budget_schedule_without_duration_breaks_cel_rule(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    # `nodes` is left out on purpose: its default "10%" must satisfy `required`, otherwise the
    # Required error would block CEL and the rule under test would never run.
    pool["spec"]["disruption"] = {"consolidateAfter": "0s", "budgets": [{"schedule": "0 9 * * mon-fri"}]}

    violation = single(validator.validate(pool))

    assert violation == (
        "spec.disruption.budgets: CEL rule failed: 'schedule' must be set with 'duration' "
        "(rule: self.all(x, has(x.schedule) == has(x.duration)))"
    )


def test_nodepool_restricted_label_domain_breaks_cel_rule(validator: CrdValidator) -> None:
    pool = minimal_nodepool()
    pool["spec"]["template"]["spec"]["requirements"][0]["key"] = "karpenter.sh/custom"

    violation = single(validator.validate(pool))

    assert violation.startswith(
        'spec.template.spec.requirements[0].key: CEL rule failed: label domain "karpenter.sh" is restricted'
    )


def test_gt_requirement_with_non_decimal_value_is_an_evaluation_error(validator: CrdValidator) -> None:
    # Python's int() accepts "1_000"; CEL-go's int() (strconv.ParseInt) does not, so the API server
    # rejects the object with an evaluation error.
    pool = minimal_nodepool()
    pool["spec"]["template"]["spec"]["requirements"] = [
        {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Gt", "values": ["1_000"]}
    ]

    violation = single(validator.validate(pool))

    assert violation.startswith(
        "spec.template.spec.requirements: CEL rule evaluation error: cannot convert string '1_000' to int"
    )


def test_eviction_soft_without_grace_period_map_is_an_evaluation_error(validator: CrdValidator) -> None:
    # The upstream rule reads self.evictionSoftGracePeriod without has(): a missing key is an
    # evaluation error in CEL, which the API server reports as a violation.
    node_class = ec2nodeclass()
    node_class["spec"]["kubelet"] = {"evictionSoft": {"memory.available": "5%"}}

    violation = single(validator.validate(node_class))

    assert violation.startswith("spec.kubelet: CEL rule evaluation error: ")
    assert "evictionSoftGracePeriod" in violation
    node_class["spec"]["kubelet"]["evictionSoftGracePeriod"] = {"memory.available": "1m"}
    assert validator.validate(node_class) == []


def test_assert_valid_lists_every_violation(validator: CrdValidator) -> None:
    overlay = nodeoverlay()
    overlay["spec"]["capacity"]["cpu"] = "8"
    overlay["spec"]["price"] = "1"
    overlay["spec"]["priceAdjustment"] = "+1"

    with pytest.raises(AssertionError) as raised:
        validator.assert_valid(overlay)

    text = str(raised.value)
    assert "NodeOverlay 'g5-gpu-capacity' has 2 violation(s)" in text
    assert "invalid resource restricted" in text and "cannot set both 'price' and 'priceAdjustment'" in text


# --- rule inventory ---------------------------------------------------------------------------


def _upstream_rules(karpenter_dir: Path) -> dict[str, list[str]]:
    """Every x-kubernetes-validations rule per CRD name, read straight from the YAML."""
    found: dict[str, list[str]] = {}

    def walk(schema: Any, rules: list[str]) -> None:
        if isinstance(schema, dict):
            rules.extend(v["rule"] for v in schema.get("x-kubernetes-validations", []))
            for key in ("properties",):
                for child in (schema.get(key) or {}).values():
                    walk(child, rules)
            for key in ("items", "additionalProperties"):
                walk(schema.get(key), rules)

    for path in sorted(karpenter_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                rules = found.setdefault(doc["metadata"]["name"], [])
                for version in doc["spec"]["versions"]:
                    walk(version["schema"]["openAPIV3Schema"], rules)
    return found


def test_every_non_transition_rule_compiles(validator: CrdValidator, karpenter_dir: Path) -> None:
    upstream = _upstream_rules(karpenter_dir)
    assert set(upstream) == {
        "ec2nodeclasses.karpenter.k8s.aws",
        "nodeclaims.karpenter.sh",
        "nodeoverlays.karpenter.sh",
        "nodepools.karpenter.sh",
    }
    counts = validator.rule_counts()
    for crd_name, rules in upstream.items():
        transition = [r for r in rules if is_transition_rule(r)]
        for rule in rules:
            if rule not in transition:
                compile_rule({"rule": rule})  # raises CelRuleError if it cannot be compiled
        assert all("oldSelf" in r for r in transition)
        assert counts[crd_name].total == len(rules), crd_name
        assert counts[crd_name].skipped_transition == len(transition), crd_name
        assert counts[crd_name].compiled == len(rules) - len(transition), crd_name
    # The transition rules of v1.14.1: NodeClaim spec immutability, NodePool static/dynamic switch
    # and nodeClassRef group/kind immutability. Everything else is evaluated.
    assert {name: c.skipped_transition for name, c in counts.items()} == {
        "ec2nodeclasses.karpenter.k8s.aws": 0,
        "nodeclaims.karpenter.sh": 1,
        "nodeoverlays.karpenter.sh": 0,
        "nodepools.karpenter.sh": 3,
    }


@pytest.mark.parametrize(
    "rule, complaint",
    [
        ("self.frobnicate() == 1", "calls ['frobnicate']"),
        ("self.size() ==", "cannot parse CEL rule"),
        ("self.all(x, y > 0)", "undeclared variables ['y']"),
        ("self == oldSelf", "transition rule"),
    ],
)
def test_uncompilable_rules_fail_loudly(rule: str, complaint: str) -> None:
    with pytest.raises(CelRuleError, match=complaint.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        compile_rule({"rule": rule})


def test_crd_with_unimplemented_function_fails_to_load(tmp_path: Path) -> None:
    crd = yaml.safe_load(WIDGET_CRD)
    spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["x-kubernetes-validations"] = [{"rule": "quantity(self.mode).isGreaterThan(quantity('1'))"}]
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(crd))

    with pytest.raises(CelRuleError, match=r"widgets.example.test/v1\.spec: .*calls \['isGreaterThan', 'quantity'\]"):
        CrdValidator.from_directory(tmp_path)
