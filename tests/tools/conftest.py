"""Fixtures for the verify tool's tests: a contract, a virtual clock and a one-call run against the fake API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.fake_kube_api import FakeCluster, Scenario
from tools.verify.__main__ import main
from tools.verify.progress import Progress
from tools.verify.run import Timing

# A dev-like time-sliced pool with two sizes: 4 slices (1 GPU) and 16 slices (4 GPUs). Its cheapest node is the
# g6.xlarge ($0.2012 × 4 = $0.80/h against $0.2876 × 16 = $4.60/h), so the default run asks 8 slices, 1..2 nodes.
INFERENCE = {
    "strategy": "time-slicing",
    "resourceName": "nvidia.com/gpu",
    "slicesPerGpu": 4,
    "replicas": 4,
    "slicesPerNode": {"g6.xlarge": 4, "g6.12xlarge": 16},
    "usdPerSliceHour": {"g6.xlarge": 0.2012, "g6.12xlarge": 0.2876},
    "nodeSelector": {"gpu-eks/pool": "inference"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "capacityTypes": ["spot", "on-demand"],
    "maxGpus": 16,
    "limit": {"nvidia.com/gpu": 64},
}


class VirtualClock:
    """The run's clock: `sleep` advances it instead of waiting, so a 30-minute timeout costs a few polls."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Run:
    code: int
    out: str
    err: str
    cluster: FakeCluster
    report: dict[str, Any]
    report_md: str

    @property
    def pool(self) -> dict[str, Any]:
        return self.report["pools"][0]


def write_outputs(
    directory: Path, endpoint: str, pools: dict[str, Any] | None = None, kubeconfig: Any = "[secret]"
) -> Path:
    path = directory / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "clusterName": "gpu-dev",
                "clusterEndpoint": endpoint,
                "kubeconfig": kubeconfig,
                "gpuPools": pools if pools is not None else {"inference": INFERENCE},
            }
        )
    )
    return path


@pytest.fixture
def verify(tmp_path: Path) -> Callable[..., Run]:
    """`verify(Scenario(...), "--slices", "8")`: the CLI against a fresh fake cluster, polling every 15 s of
    virtual time, with a 30-minute ready timeout and a 20-minute scale-in timeout unless the args say otherwise."""

    def run(
        scenario: Scenario | None = None,
        *args: str,
        pools: dict[str, Any] | None = None,
        inject_client: bool = True,
        kubeconfig: Any = "[secret]",
        timing: Timing | None = None,
    ) -> Run:
        cluster = FakeCluster(scenario or Scenario())
        report_dir = tmp_path / "report"
        with cluster.serve() as server:
            outputs = write_outputs(
                tmp_path, server.url, pools, kubeconfig(server.url) if callable(kubeconfig) else kubeconfig
            )
            out, err = io.StringIO(), io.StringIO()
            clock = VirtualClock()
            api_client = client.ApiClient(client.Configuration(host=server.url)) if inject_client else None
            code = main(
                [
                    "dev",
                    "--outputs",
                    str(outputs),
                    "--namespace",
                    "gpu-eks-verify-test",
                    "--report-dir",
                    str(report_dir),
                    *args,
                ],
                out=out,
                err=err,
                api_client=api_client,
                timing=timing or Timing(poll=15, ready_timeout=1800, scale_in_timeout=1200, cleanup_timeout=60),
                progress=Progress(err, tty=False, every=0, clock=clock),
                clock=clock,
                sleep=clock.sleep,
            )
        report_json = report_dir / "report.json"
        return Run(
            code=code,
            out=out.getvalue(),
            err=err.getvalue(),
            cluster=cluster,
            report=json.loads(report_json.read_text()) if report_json.exists() else {},
            report_md=(report_dir / "report.md").read_text() if (report_dir / "report.md").exists() else "",
        )

    return run
