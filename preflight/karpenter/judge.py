"""Karpenter's own scheduler as the judge of a render: build the Go program (preflight/karpenter/judge/), turn a
stack's render into its input, run it, parse its answer. docs/karpenter-judge.md says what it needs and how it works.

The binary is built once per content of its Go sources and go.sum into ~/.cache/gpu-eks/karpenter-judge-<hash>
(the Go build cache makes a rebuild after a change take seconds; the first build on a machine downloads the pinned
modules through the Go module proxy and compiles Karpenter, a few minutes on two cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.model.harness import REPO_ROOT, StackRun
from preflight.model.objects import manifest_of

GO_DIR = REPO_ROOT / "preflight" / "karpenter" / "judge"
INSTANCE_TYPES = REPO_ROOT / "preflight" / "karpenter" / "data" / "instance-types.json"
CACHE_DIR = Path(os.environ.get("GPU_EKS_CACHE_DIR") or Path.home() / ".cache" / "gpu-eks")
# Karpenter v1.14.1's go.mod says `go 1.26.6`: an older toolchain cannot build it.
GO_MINIMUM = (1, 26, 6)
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600


class JudgeUnavailable(Exception):
    """The judge cannot run here (no Go, too old a Go, the build failed): the message says what is needed."""


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise JudgeUnavailable(
            "the Karpenter judge needs Go >= 1.26.6 on PATH (and the Go module proxy on its first build); "
            "see docs/karpenter-judge.md"
        )
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.fullmatch(r"go(\d+)\.(\d+)(?:\.(\d+))?.*", version)
    found = tuple(int(g or 0) for g in match.groups()) if match else (0, 0, 0)
    if found < GO_MINIMUM:
        raise JudgeUnavailable(
            f"the Karpenter judge needs Go >= {'.'.join(map(str, GO_MINIMUM))}, found {version or 'none'}; "
            "see docs/karpenter-judge.md"
        )
    return go


def source_hash() -> str:
    """A hash of everything the build reads from the repo: the Go sources, go.mod and go.sum."""
    digest = hashlib.sha256()
    for path in sorted([*GO_DIR.glob("*.go"), GO_DIR / "go.mod", GO_DIR / "go.sum"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def binary() -> Path:
    """The judge binary for the current sources, built on first use."""
    target = CACHE_DIR / f"karpenter-judge-{source_hash()}"
    if target.is_file():
        return target
    go = _go()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        built = subprocess.run(
            [go, "build", "-trimpath", "-o", str(partial), "."],
            cwd=GO_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise JudgeUnavailable(f"building the Karpenter judge took over {BUILD_TIMEOUT_S}s") from error
    if built.returncode != 0:
        tail = " | ".join(built.stderr.strip().splitlines()[-5:])
        raise JudgeUnavailable(f"building the Karpenter judge failed (go build in {GO_DIR}): {tail}")
    partial.replace(target)
    return target


# -- input -------------------------------------------------------------------------------------------------------


def _with_requests(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The pod spec as the API server stores it: a container's requests default to its limits where unset
    (kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Pod), which Karpenter reads."""
    stored: dict[str, Any] = json.loads(json.dumps(spec))
    for container in stored.get("containers") or []:
        resources = container.setdefault("resources", {})
        requests = resources.setdefault("requests", {})
        for name, amount in (resources.get("limits") or {}).items():
            requests.setdefault(name, amount)
    stored.setdefault("containers", [{"name": "main"}])
    for container in stored["containers"]:
        container.setdefault("image", "judge.invalid/pause")
    return stored


def pod_object(name: str, spec: Mapping[str, Any], namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": _with_requests(spec),
    }


def daemonset_object(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "judge"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": _with_requests(spec)},
        },
    }


@dataclass(frozen=True)
class Scenario:
    """Pods pending at once for one pool: `kind` is "1", "perNode", "perNode+1", "warm", "efa", "bench-N", ..."""

    name: str
    pool: str
    kind: str
    pods: tuple[dict[str, Any], ...]


def replicated(name: str, pool: str, kind: str, spec: Mapping[str, Any], count: int) -> Scenario:
    safe = re.sub(r"[^a-z0-9-]", "-", f"{pool}-{kind}".lower())
    return Scenario(name, pool, kind, tuple(pod_object(f"{safe}-{i}", spec) for i in range(count)))


def feature_gates(releases: Mapping[str, Any]) -> str:
    """FEATURE_GATES of the rendered Karpenter Deployment (what the controller would run with)."""
    for release in releases.values():
        for obj in release.objects:
            if obj["kind"] != "Deployment":
                continue
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env") or []:
                    if env["name"] == "FEATURE_GATES":
                        return str(env["value"])
    raise AssertionError("no rendered Deployment sets FEATURE_GATES: is Karpenter's release rendered?")


def zones(run: StackRun) -> list[dict[str, str]]:
    """The zones of the stack's subnets (a brought VPC's are not registered: its region's a, b and c)."""
    names = sorted({z for r in run.by_type("aws:ec2/subnet:Subnet") if (z := r.plain_inputs().get("availabilityZone"))})
    region = run.outputs["region"]
    names = names or [f"{region}{letter}" for letter in "abc"]
    return [{"name": n, "id": f"{n}-id"} for n in names]


def judge_input(
    run: StackRun,
    daemonsets: Iterable[tuple[str, Mapping[str, Any]]],
    releases: Mapping[str, Any],
    scenarios: Sequence[Scenario],
) -> dict[str, Any]:
    manifests = [
        manifest_of(r)
        for r in run.resources
        if r.type.startswith(("kubernetes:karpenter.sh/", "kubernetes:karpenter.k8s.aws/"))
    ]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for m in manifests:
        by_kind.setdefault(m["kind"], []).append(m)
    return {
        "region": run.outputs["region"],
        "zones": zones(run),
        "featureGates": feature_gates(releases),
        "instanceTypesFile": str(INSTANCE_TYPES),
        "placementGroups": [
            {"name": i["name"], "strategy": i.get("strategy", "cluster")}
            for i in (r.plain_inputs() for r in run.by_type("aws:ec2/placementGroup:PlacementGroup"))
        ],
        "nodePools": by_kind.get("NodePool", []),
        "nodeClasses": by_kind.get("EC2NodeClass", []),
        "nodeOverlays": by_kind.get("NodeOverlay", []),
        "daemonSets": [
            daemonset_object(re.sub(r"[^a-z0-9-]+", "-", n.lower()).strip("-")[:60], s) for n, s in daemonsets
        ],
        "scenarios": [{"name": s.name, "pods": list(s.pods)} for s in scenarios],
    }


def run_judge(data: Mapping[str, Any]) -> dict[str, Any]:
    """Run the judge on one input; its JSON answer. JudgeUnavailable when it cannot be built; RuntimeError when it
    refuses the input (its one-line error)."""
    executable = binary()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
        path = handle.name
    try:
        done = subprocess.run(
            [str(executable), path], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
    finally:
        os.unlink(path)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"karpenter judge exited {done.returncode}")
    output = dict(json.loads(done.stdout))
    # Go writes an empty list as null (a stack without GPU pools has no scenario).
    output["scenarios"] = output.get("scenarios") or []
    for scenario in output["scenarios"]:
        scenario["nodeClaims"] = scenario.get("nodeClaims") or []
    output["pools"] = output.get("pools") or {}
    return output


# -- scenarios ---------------------------------------------------------------------------------------------------


@dataclass
class PoolPlan:
    """What the judge is asked about one GPU pool, and what the contract and the Python model answer."""

    pool: str
    contract: Mapping[str, Any]
    slice_pod: Mapping[str, Any]  # one slice, without EFA
    per_node: int  # the largest slicesPerNode: one node of the roomiest type
    warm: tuple[Mapping[str, Any], int] | None = None  # (pod spec, replicas)
    efa_pod: Mapping[str, Any] | None = None


def slice_pod_spec(contract: Mapping[str, Any], resource: str | None = None) -> dict[str, Any]:
    return {
        "nodeSelector": dict(contract["nodeSelector"]),
        "tolerations": [dict(t) for t in contract["tolerations"]],
        "containers": [{"name": "workload", "resources": {"limits": {resource or contract["resourceName"]: 1}}}],
    }


def warm_buffers(run: StackRun) -> dict[str, tuple[Mapping[str, Any], int]]:
    """pool -> (the warm slice's pod spec, the buffer's replicas), from the CapacityBuffers and PodTemplates."""
    registered = [
        manifest_of(r) for r in run.resources if r.type.rsplit(":", 1)[-1] in ("PodTemplate", "CapacityBuffer")
    ]
    templates = {
        (m["metadata"].get("namespace"), m["metadata"]["name"]): m for m in registered if m["kind"] == "PodTemplate"
    }
    out = {}
    for buffer in (m for m in registered if m["kind"] == "CapacityBuffer"):
        template = templates[(buffer["metadata"].get("namespace"), buffer["spec"]["podTemplateRef"]["name"])]
        spec = template["template"]["spec"]
        pool = (spec.get("nodeSelector") or {}).get("gpu-eks/pool") or buffer["metadata"].get("labels", {}).get(
            "gpu-eks/pool"
        )
        out[str(pool)] = (spec, int(buffer["spec"]["replicas"]))
    return out


def pool_plans(run: StackRun) -> list[PoolPlan]:
    contracts = dict(run.outputs.get("gpuPools") or {})
    buffers = warm_buffers(run)
    plans = []
    for pool, contract in sorted(contracts.items()):
        plan = PoolPlan(pool, contract, slice_pod_spec(contract), max(contract["slicesPerNode"].values()))
        plan.warm = buffers.get(pool)
        efa = contract.get("efa")
        if efa:
            spec = slice_pod_spec(contract)
            limits = spec["containers"][0]["resources"]["limits"]
            limits[efa["resourceName"]] = min(efa["devicesPerNode"].values())
            limits[efa["hugepages"]["resourceName"]] = efa["hugepages"]["perNode"]
            plan.efa_pod = spec
        plans.append(plan)
    return plans


def scenarios_for(plan: PoolPlan) -> list[Scenario]:
    """The contract pod at 1, at one node's slicesPerNode and one more; the warm buffer; EFA's full request."""
    pool = plan.pool
    out = [
        replicated(f"{pool}: 1 slice", pool, "1", plan.slice_pod, 1),
        replicated(f"{pool}: {plan.per_node} slices (one node)", pool, "perNode", plan.slice_pod, plan.per_node),
        replicated(
            f"{pool}: {plan.per_node + 1} slices (one node + 1)", pool, "perNode+1", plan.slice_pod, plan.per_node + 1
        ),
    ]
    if plan.warm is not None:
        spec, replicas = plan.warm
        out.append(replicated(f"{pool}: warm buffer of {replicas}", pool, "warm", spec, replicas))
    if plan.efa_pod is not None:
        out.append(replicated(f"{pool}: 1 EFA pod (devices + huge pages)", pool, "efa", plan.efa_pod, 1))
    return out


def main() -> int:
    """`python -m preflight.karpenter.judge`: build the judge (if its sources changed) and print where it is."""
    import sys
    import time

    started = time.perf_counter()
    try:
        path = binary()
    except JudgeUnavailable as unavailable:
        print(str(unavailable), file=sys.stderr)
        return 2
    print(f"{path} ({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
