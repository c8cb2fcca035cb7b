"""The observability and nodeHealth config sections: defaults, and one clear error per bad value."""

from __future__ import annotations

import pytest

from components.common.parsing import ConfigError
from components.config import parse_config
from components.observability.config import ObservabilityMode

BASE = {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}


def parse(**keys):
    return parse_config({**BASE, **keys}, stack="dev", region="us-west-2")


def test_a_stack_without_the_keys_gets_in_cluster_metrics_for_15_days_and_auto_repair():
    config = parse()
    assert config.observability.mode is ObservabilityMode.IN_CLUSTER
    assert config.observability.retention_days == 15
    assert config.node_health.auto_repair is True


def test_auto_repair_turns_on_karpenters_node_repair_gate():
    assert parse().karpenter.feature_gates["nodeRepair"] is True
    assert "nodeRepair" not in parse(nodeHealth={"autoRepair": False}).karpenter.feature_gates


def test_auto_repair_off_leaves_a_gate_the_user_set_alone():
    config = parse(nodeHealth={"autoRepair": False}, karpenter={"featureGates": {"nodeRepair": True}})
    assert config.karpenter.feature_gates["nodeRepair"] is True


@pytest.mark.parametrize("mode", ["in-cluster", "amp", "off"])
def test_each_mode_is_accepted(mode):
    assert parse(observability={"mode": mode}).observability.mode.value == mode


def test_amp_keeps_up_to_its_workspace_limit():
    assert parse(observability={"mode": "amp", "retentionDays": 1095}).observability.retention_days == 1095


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"observability": {"mode": "prometheus"}},
            "dev: gpu-eks:observability.mode: 'prometheus' is not supported; allowed: in-cluster | amp | off",
        ),
        (
            {"observability": {"mode": "amp", "retention": 5}},
            "dev: gpu-eks:observability.retention: unknown key 'retention' (did you mean 'retentionDays'?); "
            "allowed keys under observability: mode, retentionDays",
        ),
        (
            {"observability": {"retentionDays": "two weeks"}},
            "dev: gpu-eks:observability.retentionDays: expected an integer, got 'two weeks'; allowed: an integer >= 1",
        ),
        (
            {"observability": {"retentionDays": 0}},
            "dev: gpu-eks:observability.retentionDays: 0 is out of range; allowed: an integer >= 1",
        ),
        (
            {"observability": {"retentionDays": 91}},
            "dev: gpu-eks:observability.retentionDays: 91 days is more than mode in-cluster keeps; "
            "allowed: 1 to 90 with mode in-cluster (use mode amp for up to 1095)",
        ),
        (
            {"observability": {"mode": "amp", "retentionDays": 1096}},
            "dev: gpu-eks:observability.retentionDays: 1096 days is more than mode amp keeps; "
            "allowed: 1 to 1095 with mode amp",
        ),
        (
            {"observability": "in-cluster"},
            "dev: gpu-eks:observability: expected a mapping, got str 'in-cluster'; "
            "allowed: a mapping with keys mode, retentionDays",
        ),
        (
            {"nodeHealth": {"autoRepair": "sometimes"}},
            "dev: gpu-eks:nodeHealth.autoRepair: expected true or false, got str 'sometimes'; allowed: true | false",
        ),
        (
            {"nodeHealth": {"repair": True}},
            "dev: gpu-eks:nodeHealth.repair: unknown key 'repair' (did you mean 'autoRepair'?); "
            "allowed keys under nodeHealth: autoRepair",
        ),
        (
            {"karpenter": {"featureGates": {"nodeRepair": False}}},
            "dev: gpu-eks:nodeHealth.autoRepair: is true but karpenter.featureGates.nodeRepair is false; allowed: "
            "autoRepair: false, or leave karpenter.featureGates.nodeRepair unset (autoRepair turns it on)",
        ),
    ],
)
def test_a_bad_value_stops_the_preview_with_one_line(keys, message):
    with pytest.raises(ConfigError) as error:
        parse(**keys)
    assert str(error.value) == message


def test_auto_repair_with_an_arm64_gpu_pool_and_an_exporter_is_refused_in_one_line():
    # The agent's dcgm-server is amd64-only: an exporter on a g5g node would have no host engine to connect to.
    pool = {"name": "arm", "instanceFamilies": ["g5g"], "capacityTypes": ["on-demand"], "maxGpus": 4}
    keys = {"gpuNodePools": [pool], "observability": {"mode": "in-cluster"}}
    with pytest.raises(ConfigError) as caught:
        parse(**keys, nodeHealth={"autoRepair": True})
    assert caught.value.key == "nodeHealth.autoRepair" and "arm" in str(caught.value) and "\n" not in str(caught.value)
    assert parse(**keys, nodeHealth={"autoRepair": False}).node_health.auto_repair is False
    assert parse(**{**keys, "observability": {"mode": "off"}}).node_health.auto_repair is True
