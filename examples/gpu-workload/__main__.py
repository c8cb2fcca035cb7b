"""gpu-workload: read a gpu-eks platform stack's outputs and run one smoke Job per GPU pool on it."""

import pulumi
import pulumi_kubernetes as k8s
from workload import PlatformOutputError, parse_gpu_pools, require_kubeconfig, smoke_job

config = pulumi.Config()
platform_stack = config.get("platformStack") or ""
if not platform_stack:
    raise PlatformOutputError(
        f"{pulumi.get_stack()}: gpu-workload:platformStack is not set; "
        "allowed: a stack name such as organization/gpu-eks/dev"
    )
platform = pulumi.StackReference("platform", stack_name=platform_stack)
kubeconfig = platform.get_output("kubeconfig").apply(lambda value: require_kubeconfig(platform_stack, value))
provider = k8s.Provider("platform", kubeconfig=kubeconfig)


def create_jobs(gpu_pools) -> list[str]:
    # One Job per pool: the pool list lives in the other stack, so the Jobs can only be declared once its
    # outputs are known (they are, at preview too: a StackReference reads the stored state).
    names = []
    for contract in parse_gpu_pools(platform_stack, gpu_pools):
        job = smoke_job(contract)
        k8s.batch.v1.Job(
            job["metadata"]["name"],
            metadata=job["metadata"],
            spec=job["spec"],
            opts=pulumi.ResourceOptions(provider=provider),
        )
        names.append(job["metadata"]["name"])
    return names


pulumi.export("smokeJobs", platform.get_output("gpuPools").apply(create_jobs))
