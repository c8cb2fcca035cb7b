"""`--nccl`: the all_reduce_perf parser on a realistic log, and the hook that finds EFA pools and the example."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.conftest import INFERENCE
from tools.verify.nccl import NcclParseError, availability, parse_all_reduce, placed_on, run
from tools.verify.plan import PoolContract

# data/all_reduce_perf_2x_p5.log: two p5.48xlarge (16 H100 ranks) over EFA, launched by mpirun with --tag-output as
# the MPIJob examples do, so every line carries a [job,rank]<stream>: prefix and NCCL INFO lines from other ranks
# interleave. Columns and summary lines follow nccl-tests' documented format (NVIDIA/nccl-tests README and
# doc/PERFORMANCE.md); busbw = algbw × 2(n-1)/n = algbw × 1.875 for n = 16.
SAMPLE = (Path(__file__).parent / "data" / "all_reduce_perf_2x_p5.log").read_text()


def test_the_parser_reads_every_size_and_the_summary():
    result = parse_all_reduce(SAMPLE)

    assert [r.size_bytes for r in result.rows] == [
        1048576,
        4194304,
        16777216,
        67108864,
        268435456,
        1073741824,
        4294967296,
    ]
    assert result.avg_busbw == 214.809
    assert result.out_of_bounds == 0 and result.wrong == 0


def test_the_summary_gives_peak_and_largest_size_busbw():
    summary = parse_all_reduce(SAMPLE).summary()

    assert summary["peakBusbwGBps"] == 382.41  # the in-place busbw at 4 GiB
    assert summary["busbwAtLargestGBps"] == 382.41 and summary["largestBytes"] == 4294967296
    assert summary["sizes"] == 7


def test_unprefixed_output_with_unchecked_rows_parses_too():
    """A plain (non-MPI) run with -c 0 prints N/A in the #wrong columns."""
    text = (
        "#       size         count      type   redop    root"
        "     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n"
        "    33554432       8388608     float     sum      -1"
        "    412.0   81.44  142.52    N/A    410.3   81.78  143.11    N/A\n"
        "# Avg bus bandwidth    : 142.815 \n"
    )
    result = parse_all_reduce(text)
    assert result.wrong == 0 and result.peak_busbw == 143.11 and result.avg_busbw == 142.815


def test_srun_rank_prefixes_are_stripped():
    text = " 0:    33554432       8388608     float     sum      -1"
    text += "    412.0   81.44  142.52      2    410.3   81.78  143.11      1\n"
    assert parse_all_reduce(text).wrong == 3


def test_a_log_without_rows_is_an_error():
    with pytest.raises(NcclParseError, match="no result rows"):
        parse_all_reduce("[1,0]<stderr>:NCCL WARN NET/OFI Unable to find a provider\n")


def test_today_there_is_no_efa_pool_and_no_example(tmp_path):
    pools = [PoolContract.from_output("inference", INFERENCE)]
    efa, example, note = availability(pools, tmp_path)
    assert (efa, example) == ([], None)
    assert note == (
        "--nccl skipped: no EFA pool (no gpuPools entry in the outputs has `efa`); no NCCL example "
        "(examples/nccl-tests/*.yaml running all_reduce_perf)"
    )


def test_an_efa_pool_and_an_example_make_nccl_runnable(tmp_path):
    pool = PoolContract.from_output("training", {**INFERENCE, "efa": {"interfaces": 32}})
    example = tmp_path / "examples" / "nccl-tests" / "nccl-tests.yaml"
    example.parent.mkdir(parents=True)
    example.write_text("kind: MPIJob\nspec: {}\n# runs /opt/nccl-tests/build/all_reduce_perf\n")

    efa, found, note = availability([pool], tmp_path)
    assert (efa, found, note) == ([pool], example, None)


def test_the_example_is_placed_on_the_pool_without_losing_its_own_settings():
    pool = PoolContract.from_output("training", {**INFERENCE, "nodeSelector": {"gpu-eks/pool": "training"}})
    manifest = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "nccl-tests"},
        "spec": {
            "mpiReplicaSpecs": {
                "Worker": {
                    "replicas": 2,
                    "template": {
                        "spec": {
                            "nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"},
                            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                        }
                    },
                }
            }
        },
    }

    job = placed_on(manifest, pool, "nccl-training")
    worker = job["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]
    assert job["metadata"]["name"] == "nccl-training"
    assert worker["nodeSelector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge", "gpu-eks/pool": "training"}
    assert worker["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert manifest["metadata"]["name"] == "nccl-tests"  # the example itself is not modified


class StubKube:
    """The three calls nccl.run makes: create the MPIJob, list the launcher pod, read its log."""

    def __init__(self, phases: list[str | None], log: str = SAMPLE):
        self.phases, self.log = phases, log
        self.created: list[tuple[str, dict]] = []
        self.selectors: list[str] = []

    def create_custom_object(self, body, namespace):
        self.created.append((namespace, body))

    def list_pods(self, namespace, selector):
        self.selectors.append(selector)
        phase = self.phases.pop(0) if self.phases else None
        return [] if phase is None else [{"metadata": {"name": "nccl-training-launcher"}, "status": {"phase": phase}}]

    def pod_log(self, namespace, name):
        return self.log


def _example(tmp_path: Path) -> Path:
    path = tmp_path / "nccl-tests.yaml"
    path.write_text(
        "apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: nccl-tests}\n"
        "spec:\n  mpiReplicaSpecs:\n    Worker:\n      replicas: 2\n      template: {spec: {}}\n"
    )
    return path


def test_run_places_the_job_on_the_pool_and_reports_bus_bandwidth(tmp_path):
    pool = PoolContract.from_output("training", {**INFERENCE, "nodeSelector": {"gpu-eks/pool": "training"}})
    kube = StubKube([None, "Running", "Succeeded"])
    now = [0.0]

    result = run(
        kube,
        pool,
        _example(tmp_path),
        "ns",
        timeout=600,
        poll=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )

    assert result["status"] == "succeeded" and result["avgBusbwGBps"] == 214.809
    namespace, job = kube.created[0]
    assert namespace == "ns" and job["metadata"]["name"] == "nccl-training"
    assert job["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["nodeSelector"] == {"gpu-eks/pool": "training"}
    assert kube.selectors[0] == "training.kubeflow.org/job-name=nccl-training,training.kubeflow.org/job-role=launcher"


def test_run_times_out_when_the_launcher_never_finishes(tmp_path):
    pool = PoolContract.from_output("training", INFERENCE)
    now = [0.0]
    result = run(
        StubKube(["Running"] * 100),
        pool,
        _example(tmp_path),
        "ns",
        timeout=60,
        poll=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert result == {"status": "timeout", "message": "the NCCL launcher did not finish within 60s"}
