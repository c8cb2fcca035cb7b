"""The verify tool's scale loop against the loopback fake API server (tests/support/fake_kube_api.py).

Each test scripts what Karpenter and the cluster do (pods Pending → NodeClaims → nodes join and advertise →
pods Running; scale to 0 → consolidation) or how they fail, runs the real CLI with the official client over HTTP,
and checks the exit code, the report's reasons and that the namespace was cleaned up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from kubernetes import client

from tests.support.fake_kube_api import FakeCluster, Scenario
from tests.tools.conftest import INFERENCE, VirtualClock, write_outputs
from tools.verify.__main__ import EXIT_CLUSTER, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_PASS, main
from tools.verify.progress import Progress
from tools.verify.run import Timing

REPO_ROOT = Path(__file__).resolve().parents[2]
# The failure tests wait out whole timeouts: poll every virtual minute so they take 30 polls, not 120.
MINUTE_POLLS = Timing(poll=60, ready_timeout=1800, scale_in_timeout=1200, cleanup_timeout=60)


def _kubeconfig(url: str) -> str:
    """A kubeconfig for the fake server, as `pulumi stack output --show-secrets kubeconfig` gives it (JSON text)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "gpu-dev",
            "clusters": [{"name": "gpu-dev", "cluster": {"server": url}}],
            "users": [{"name": "gpu-dev", "user": {"token": "k8s-aws-v1.fake"}}],
            "contexts": [{"name": "gpu-dev", "context": {"cluster": "gpu-dev", "user": "gpu-dev"}}],
        }
    )


def _reasons(run) -> str:
    return " | ".join(run.pool["reasons"])


def assert_cleaned_up(run) -> None:
    """The run's namespace was deleted and is gone, so its pods cannot hold nodes up."""
    assert "gpu-eks-verify-test" in run.cluster.namespace_deleted
    assert "gpu-eks-verify-test" not in run.cluster.namespaces


def test_a_healthy_pool_passes_with_two_nodes_four_pods_each_and_is_scaled_back_in(verify):
    run = verify(Scenario(consolidate_ticks=40))  # 40 polls of 15 s: consolidateAfter 10m

    assert run.code == EXIT_PASS, run.err
    pool = run.pool
    assert pool["verdict"] == "pass" and pool["reasons"] == []
    assert pool["slices"] == 8 and pool["nodesExpected"] == {"min": 1, "max": 2}
    assert pool["nodesLaunched"] == 2
    assert sorted(pool["podsPerNode"].values()) == [4, 4]
    assert {(n["instanceType"], n["capacityType"], n["advertised"]) for n in pool["nodes"]} == {
        ("g6.xlarge", "spot", 4)
    }
    assert sorted(n["zone"] for n in pool["nodes"]) == ["us-west-2a", "us-west-2b"]
    # Virtual time, one fake tick per poll, polls 15 s apart from 0 s: pods and NodeClaims appear on poll 1,
    # the claims launch on 2, the nodes join on 3 and turn Ready with the resource on 4, the scheduler binds the
    # pods on 5 and they run on 6, at 75 s.
    assert pool["secondsToFirstRunning"] == pool["secondsToAllRunning"] == 5 * 15
    # Scale-in: the pods go on poll 2, the nodes are then empty for 40 ticks before Karpenter removes them.
    assert 40 * 15 <= pool["secondsToScaleIn"] <= 43 * 15
    assert "| inference | time-slicing ×4 | 8 | 1–2 | 2 | g6.xlarge ×2 (spot) |" in run.out
    assert run.cluster.nodes == {} and run.cluster.claims == {}
    assert_cleaned_up(run)


def test_seventeen_slices_on_mixed_sizes_count_every_launched_node_against_the_bounds(verify):
    """17 slices: Karpenter picks a 16-slice g6.12xlarge and a 4-slice g6.xlarge: 2 nodes, within 2..5."""
    run = verify(Scenario(launch_types=["g6.12xlarge", "g6.xlarge"]), "--slices", "17")

    assert run.code == EXIT_PASS, _reasons(run)
    assert run.pool["nodesExpected"] == {"min": 2, "max": 5}
    assert sorted(run.pool["podsPerNode"].values()) == [1, 16]


def test_insufficient_capacity_leaves_pods_pending_and_fails_with_karpenters_event(verify):
    run = verify(Scenario(ice=True), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    reasons = _reasons(run)
    assert "insufficient capacity: NodeClaim inference-" in reasons
    assert "all requested instance types were unavailable during launch" in reasons
    assert "not Ready within 30m00s: 0/8 pods Running" in reasons
    assert run.pool["nodesLaunched"] == 0
    assert_cleaned_up(run)


def test_an_ec2_vcpu_quota_is_reported_as_a_quota_failure(verify):
    run = verify(Scenario(ec2_quota=True), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    assert "quota: NodeClaim inference-" in _reasons(run) and "VcpuLimitExceeded" in _reasons(run)
    assert_cleaned_up(run)


def test_a_namespace_resource_quota_that_refuses_the_pods_is_reported(verify):
    run = verify(Scenario(resource_quota=True), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    assert "quota: ResourceQuota in gpu-eks-verify-test: Error creating" in _reasons(run)


def test_a_node_that_never_advertises_the_resource_fails_and_is_named(verify):
    run = verify(Scenario(advertise={"g6.xlarge": None}), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    reasons = _reasons(run)
    assert "advertises 0 nvidia.com/gpu, the contract says 4" in reasons
    assert "not Ready within 30m00s: 0/8 pods Running" in reasons
    assert_cleaned_up(run)


def test_a_node_advertising_another_count_than_the_contract_fails(verify):
    """The device plugin's replicas disagree with the overlay: 8 slices on a g6.xlarge the contract gives 4."""
    run = verify(Scenario(advertise={"g6.xlarge": 8}))

    assert run.code == EXIT_FAIL
    assert "(g6.xlarge) advertises 8 nvidia.com/gpu, the contract says 4" in _reasons(run)


def test_karpenter_without_the_overlay_launches_a_node_per_slice_and_fails_as_too_many_nodes(verify):
    run = verify(Scenario(karpenter_slices={"g6.xlarge": 1}))

    assert run.code == EXIT_FAIL
    assert "too many nodes: 8 for 8 slices, the contract allows at most 2" in _reasons(run)


def test_a_pod_landing_on_another_pools_node_fails(verify):
    run = verify(Scenario(foreign_node=True))

    assert run.code == EXIT_FAIL
    assert "pods on another pool:" in _reasons(run) and "(pool general-gpu)" in _reasons(run)
    assert run.pool["nodesLaunched"] == 1  # the other pool's node was there before the run


def test_karpenter_warnings_that_are_not_launch_failures_do_not_fail_the_run(verify):
    run = verify(Scenario(unrelated_warnings=True))

    assert run.code == EXIT_PASS, _reasons(run)
    assert any(e["reason"] == "FailedConsistencyCheck" for e in run.cluster.events)  # the fake did emit them


def test_ready_timeout_is_reported_with_how_many_pods_ran(verify):
    """Nodes take longer to become Ready (200 polls of a minute) than the 30-minute ready timeout allows."""
    run = verify(Scenario(ready_ticks=200), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    assert "not Ready within 30m00s: 0/8 pods Running" in _reasons(run)
    assert run.pool["secondsToAllRunning"] is None


def test_nodes_karpenter_never_removes_fail_the_scale_in_check(verify):
    run = verify(Scenario(consolidate_ticks=10_000), timing=MINUTE_POLLS)

    assert run.code == EXIT_FAIL
    assert "scale-in: 2 node(s) still there 20m00s after scaling to 0" in _reasons(run)
    assert run.pool["secondsToScaleIn"] is None


def test_consolidate_after_never_is_noted_and_not_waited_for(verify):
    run = verify(
        Scenario(
            consolidation={"consolidationPolicy": "WhenEmpty", "consolidateAfter": "Never"}, consolidate_ticks=10_000
        )
    )

    assert run.code == EXIT_PASS, _reasons(run)
    assert "consolidateAfter is Never" in run.pool["scaleInNote"]
    assert "not awaited" in run.out


def test_a_missing_nodepool_fails_the_pool_without_creating_pods(verify):
    run = verify(Scenario(nodepool_exists=False))

    assert run.code == EXIT_FAIL
    assert "NodePool inference not found in the cluster" in _reasons(run)
    assert not any(path.endswith("/deployments") for _, path in run.cluster.requests)
    assert_cleaned_up(run)


# The tool as a user starts it (python -m tools.verify), except that SIGINT raises KeyboardInterrupt whatever the
# process inherited: Python installs that handler at start-up only when SIGINT is at its default, so under a parent
# that ignores it (nohup, `trap '' INT`, some CI runners) a Ctrl-C would otherwise be ignored.
VERIFY_WITH_CTRL_C = (
    "import runpy, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.argv = ['tools.verify', *sys.argv[1:]]\n"
    "runpy.run_module('tools.verify', run_name='__main__', alter_sys=True)\n"
)


def test_ctrl_c_mid_run_deletes_the_namespace_and_exits_130(tmp_path):
    """A real SIGINT to the running tool's process after 3 polls, as a terminal's Ctrl-C delivers it; independent
    of the test process's own SIGINT disposition (issue 21, item 5)."""
    child: list[subprocess.Popen[str]] = []
    cluster = FakeCluster(Scenario(interrupt_after_pod_lists=3), interrupt=lambda: os.kill(child[0].pid, signal.SIGINT))
    report_dir = tmp_path / "report"
    with cluster.serve() as server:
        outputs = write_outputs(tmp_path, server.url, kubeconfig=_kubeconfig(server.url))
        args = ["dev", "--outputs", str(outputs), "--namespace", "gpu-eks-verify-test"]
        args += ["--report-dir", str(report_dir), "--poll", "20ms"]
        child.append(
            subprocess.Popen(
                [sys.executable, "-c", VERIFY_WITH_CTRL_C, *args],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        try:
            out, err = child[0].communicate(timeout=120)
        finally:
            if child[0].poll() is None:
                child[0].kill()
                child[0].wait()

    assert cluster.interrupted, "the run ended before its third poll: no Ctrl-C was sent"
    assert child[0].returncode == EXIT_INTERRUPTED, f"exit code {child[0].returncode}; stderr:\n{err}"
    assert "interrupted: cleaning up namespace gpu-eks-verify-test" in err
    assert "gpu-eks-verify-test" in cluster.namespace_deleted and "gpu-eks-verify-test" not in cluster.namespaces
    (pool,) = json.loads((report_dir / "report.json").read_text())["pools"]
    assert pool["interrupted"] is True and pool["verdict"] == "fail"
    assert "| inference |" in out
    # Only what the namespace held is deleted; the nodes are left for Karpenter to consolidate.
    assert not any(method == "DELETE" and "/nodes" in path for method, path in cluster.requests)


def test_no_access_is_reported_before_anything_is_created(verify):
    run = verify(Scenario(denied={"create namespaces", "list nodeclaims"}))

    assert run.code == EXIT_CLUSTER
    assert "no access: this identity may not create namespaces, list nodeclaims.karpenter.sh" in run.err
    assert run.cluster.namespaces == {} and run.report == {}


def test_rejected_credentials_are_reported(verify):
    run = verify(Scenario(unauthorized=True))

    assert run.code == EXIT_CLUSTER
    assert "the API server rejected the credentials" in run.err


def test_missing_karpenter_crds_are_reported(verify):
    run = verify(Scenario(karpenter_crds=False))

    assert run.code == EXIT_CLUSTER
    assert "Karpenter's CRDs are missing: the API server serves no karpenter.sh/v1" in run.err
    assert run.cluster.namespaces == {}


def test_the_kubeconfig_from_the_outputs_is_used(verify):
    """The `kubeconfig` output as `pulumi stack output --show-secrets` gives it: a JSON string."""
    run = verify(Scenario(), inject_client=False, kubeconfig=_kubeconfig)

    assert run.code == EXIT_PASS, run.err
    assert run.cluster.authorization == {"Bearer k8s-aws-v1.fake"}


def test_no_kubeconfig_anywhere_is_a_clear_error(verify, tmp_path):
    run = verify(Scenario(), "--kubeconfig", str(tmp_path / "missing"), inject_client=False)

    assert run.code == EXIT_CLUSTER
    assert "no usable kubeconfig" in run.err and "aws eks update-kubeconfig" in run.err


def test_an_unreachable_api_server_is_a_clear_error(tmp_path):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    configuration = client.Configuration(host=url)
    configuration.retries = 0
    import io

    err = io.StringIO()
    clock = VirtualClock()
    code = main(
        ["dev", "--outputs", str(write_outputs(tmp_path, url))],
        out=io.StringIO(),
        err=err,
        api_client=client.ApiClient(configuration),
        timing=Timing(poll=1),
        progress=Progress(err, tty=False),
        clock=clock,
        sleep=clock.sleep,
    )

    assert code == EXIT_CLUSTER
    assert f"cannot reach the Kubernetes API at {url}" in err.getvalue()


def test_the_report_files_carry_the_table_and_the_json_verdict(verify):
    run = verify(Scenario())

    assert run.report["verdict"] == "pass" and run.report["namespace"] == "gpu-eks-verify-test"
    assert run.report_md.startswith("## gpu-eks verify: dev")
    assert (
        "| pool | strategy | slices asked | nodes expected | nodes launched | instance types | time to ready "
        "| time to scale-in | verdict |"
    ) in run.report_md


def test_the_fake_cluster_is_untouched_by_a_plan(tmp_path):
    """--plan reads the outputs only: not one request reaches the API server."""
    cluster = FakeCluster(Scenario())
    import io

    with cluster.serve() as server:
        code = main(
            ["dev", "--plan", "--outputs", str(write_outputs(tmp_path, server.url, {"inference": INFERENCE}))],
            out=io.StringIO(),
            err=io.StringIO(),
            api_client=client.ApiClient(client.Configuration(host=server.url)),
        )
    assert code == EXIT_PASS
    assert cluster.requests == []
