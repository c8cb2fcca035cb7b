"""examples/nccl-tests: the MPIJobs parse, pass the MPI operator's MPIJob CRD, ask for what the EFA pool's contract
gives, land on that pool (placement model), and run the image the Dockerfile builds from pinned versions."""

from __future__ import annotations

import re

import pytest
import yaml

from components import versions
from preflight.model.harness import REPO_ROOT
from preflight.placement import model as placement

EXAMPLE = REPO_ROOT / "examples" / "nccl-tests"
EFA_JOB = EXAMPLE / "all-reduce-efa.yaml"
SOCKETS_JOB = EXAMPLE / "all-reduce-sockets.yaml"
# The repo variant whose `training` pool is the EFA pool (tests/support/stack_variants.py).
EFA_STACK = "efa-p5"
POOL = "training"


def job(path):
    (document,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return document


def replica(path, role):
    return job(path)["spec"]["mpiReplicaSpecs"][role]["template"]["spec"]


def container(path, role):
    (only,) = replica(path, role)["containers"]
    return only


def dockerfile_args():
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", (EXAMPLE / "Dockerfile").read_text(), re.M))


def mpirun_option(path, option):
    command = container(path, "Launcher")["command"]
    return command[command.index(option) + 1]


@pytest.mark.parametrize("path", [EFA_JOB, SOCKETS_JOB], ids=lambda p: p.name)
def test_the_job_passes_the_mpijob_crd_of_the_pinned_mpi_operator(mpi_job_validator, path):
    assert job(path)["apiVersion"] == "kubeflow.org/v2beta1"
    assert mpi_job_validator.validate(job(path)) == []


def test_the_mpijob_crd_checked_is_the_pinned_releases(mpi_job_validator):
    from tests.support.upstream import upstream_file

    documents = yaml.safe_load_all(upstream_file("manifests", "mpi-operator.yaml").read_text())
    (deployment,) = [d for d in documents if d and d["kind"] == "Deployment"]
    (operator,) = deployment["spec"]["template"]["spec"]["containers"]
    assert operator["image"] == f"mpioperator/mpi-operator:{versions.MPI_OPERATOR_VERSION.removeprefix('v')}"
    # And the check can fail: a misspelt field is refused.
    broken = job(EFA_JOB)
    broken["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    assert mpi_job_validator.validate(broken) == [
        'spec.mpiReplicaSpecs[Worker].template.spec.containers[0].resourcez: unknown field "resourcez"'
    ]


def test_the_efa_workers_request_a_whole_node_as_the_pools_contract_gives_it(stack_or_variant_run):
    contract = stack_or_variant_run(EFA_STACK).outputs["gpuPools"][POOL]
    efa = contract["efa"]
    resources = container(EFA_JOB, "Worker")["resources"]
    assert resources["requests"] == resources["limits"]  # huge pages must be requested as much as limited
    assert {k: v for k, v in resources["limits"].items() if k != "memory"} == {
        contract["resourceName"]: contract["slicesPerNode"]["p5.48xlarge"],
        efa["resourceName"]: efa["devicesPerNode"]["p5.48xlarge"],
        efa["hugepages"]["resourceName"]: efa["hugepages"]["perNode"],
    }


@pytest.mark.parametrize("path", [EFA_JOB, SOCKETS_JOB], ids=lambda p: p.name)
@pytest.mark.parametrize("role", ["Launcher", "Worker"])
def test_every_pod_of_the_job_goes_to_the_pool_the_contract_names(stack_or_variant_run, path, role):
    contract = stack_or_variant_run(EFA_STACK).outputs["gpuPools"][POOL]
    spec = replica(path, role)
    assert spec["nodeSelector"] == contract["nodeSelector"]
    assert spec["tolerations"] == contract["tolerations"]


@pytest.mark.parametrize("path", [EFA_JOB, SOCKETS_JOB], ids=lambda p: p.name)
def test_mpirun_starts_one_rank_per_gpu_of_each_worker(path):
    spec = job(path)["spec"]
    workers = spec["mpiReplicaSpecs"]["Worker"]
    gpus = container(path, "Worker")["resources"]["limits"]["nvidia.com/gpu"]
    assert spec["slotsPerWorker"] == gpus == int(mpirun_option(path, "-N"))
    assert int(mpirun_option(path, "-np")) == workers["replicas"] * gpus == 16


def test_the_socket_job_is_the_efa_job_without_efa():
    efa, sockets = container(EFA_JOB, "Worker")["resources"], container(SOCKETS_JOB, "Worker")["resources"]
    assert {k: v for k, v in efa["limits"].items() if k not in ("vpc.amazonaws.com/efa", "hugepages-2Mi")} == sockets[
        "limits"
    ]
    assert "NCCL_NET=Socket" in container(SOCKETS_JOB, "Launcher")["command"]
    assert "NCCL_NET=Socket" not in container(EFA_JOB, "Launcher")["command"]


def test_the_jobs_land_on_the_efa_pool_and_only_there(placement_model):
    model = placement_model(EFA_STACK)
    pods = [p for p in model.pods if p.name.startswith("example all-reduce-")]
    assert sorted(p.name for p in pods) == [
        "example all-reduce-efa.yaml: MPIJob nccl-all-reduce-efa Launcher",
        "example all-reduce-efa.yaml: MPIJob nccl-all-reduce-efa Worker",
        "example all-reduce-sockets.yaml: MPIJob nccl-all-reduce-sockets Launcher",
        "example all-reduce-sockets.yaml: MPIJob nccl-all-reduce-sockets Worker",
    ]
    assert {p.name: placement.landing_failures(model, p, POOL) for p in pods} == {p.name: [] for p in pods}


def test_the_efa_worker_does_not_fit_a_node_without_the_pools_huge_pages(placement_model):
    # The model counts huge pages: take the overlay and the user data away and the worker fits nowhere.
    model = placement_model(EFA_STACK)
    (worker,) = [p for p in model.pods if p.name == "example all-reduce-efa.yaml: MPIJob nccl-all-reduce-efa Worker"]
    node = next(n for n in model.nodes if n.group == POOL)
    bare = placement.fit_problems(worker.spec, node.labels, node.taints, {**node.capacity, "hugepages-2Mi": 0})
    assert bare == ["requests hugepages-2Mi: 5368709120, node advertises 0"]


def test_a_stack_whose_training_pool_has_no_efa_runs_no_nccl_job(placement_model):
    # prod's `training` pool is p5 without EFA: the jobs are sized for an EFA pool and are not placed there.
    assert [p.name for p in placement_model("prod").pods if p.name.startswith("example all-reduce-")] == []


def test_the_image_is_the_one_the_dockerfile_builds():
    args = dockerfile_args()
    tag = (
        f"efa{args['EFA_INSTALLER_VERSION']}-ofi{args['AWS_OFI_NCCL_VERSION'].removeprefix('v')}"
        f"-nccl{args['NCCL_VERSION'].removeprefix('v')}-tests{args['NCCL_TESTS_VERSION'].removeprefix('v')}"
    )
    images = {
        c["image"]
        for path in (EFA_JOB, SOCKETS_JOB)
        for role in ("Launcher", "Worker")
        for c in [container(path, role)]
    }
    assert images == {f"REGISTRY/gpu-eks-nccl-tests:{tag}"}
    assert f"TAG={tag}\n" in (EXAMPLE / "README.md").read_text()


def test_the_dockerfile_pins_every_version():
    args = dockerfile_args()
    assert {k: args[k] for k in ("CUDA_VERSION", "EFA_INSTALLER_VERSION", "AWS_OFI_NCCL_VERSION")} == {
        "CUDA_VERSION": "12.9.1",
        "EFA_INSTALLER_VERSION": "1.47.0",
        "AWS_OFI_NCCL_VERSION": "v1.19.2",
    }
    assert {k: args[k] for k in ("NCCL_VERSION", "NCCL_TESTS_VERSION")} == {
        "NCCL_VERSION": "v2.29.7-1",
        "NCCL_TESTS_VERSION": "v2.17.9",
    }
    assert "latest" not in (EXAMPLE / "Dockerfile").read_text()


def test_the_readme_installs_the_pinned_mpi_operator_and_quotes_the_published_figure():
    readme = (EXAMPLE / "README.md").read_text()
    assert f"kubectl apply --server-side -f {versions.MPI_OPERATOR_MANIFEST_URL}" in readme
    assert "about **480 GB/s** busbw" in readme
    # The published 2 x p5.48xlarge rows (awsome-distributed-training v1.2.0), as quoted.
    assert " 17179869184    4294967296     float     sum      -1    66132  259.78  487.09      0" in readme


def test_tools_verify_runs_the_efa_job_not_the_socket_one():
    from tools.verify.nccl import find_example

    assert find_example(REPO_ROOT) == EFA_JOB


@pytest.mark.parametrize(
    "readme", [EXAMPLE / "README.md", REPO_ROOT / "docs" / "gpu-pools.md"], ids=["example README", "docs/gpu-pools.md"]
)
def test_the_efa_pool_the_readmes_show_is_a_valid_config(readme):
    from tests.support.stacks import parse

    text = readme.read_text()
    if readme.name == "gpu-pools.md":
        text = text.split("## Multi-node training with EFA", 1)[1]
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    pools = yaml.safe_load(block)["gpu-eks:gpuNodePools"]
    network = {"availabilityZoneIds": {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2"}}
    raw = {"gpuNodePools": pools, "network": network, "endpoint": {"publicAccess": False}}
    (pool,) = parse(raw, region="us-east-1").gpu_node_pools
    assert (pool.name, pool.efa, pool.zone) == (POOL, True, "us-east-1b")
