"""DCGM host engines per GPU node, and who holds a GPU while MIG Manager changes MIG mode.

A table of which rendered container is a DCGM host engine (`nv-hostengine`), runs one embedded, or is a client of
one, read from the objects the real charts render (and, for the GPU Operator's operands, from the rendered
ClusterPolicy as the operator builds them), placed with the scheduling model (model.py):

* a container whose command is `nv-hostengine` is a host engine (the node monitoring agent's dcgm-server,
  aws/eks-node-monitoring-agent v1.7.0 charts/eks-node-monitoring-agent/templates/dcgm-daemonset.yaml);
* a dcgm-exporter container is a client when its arguments carry `-r`/`--remote-hostengine-info <host:port>` or its
  env DCGM_REMOTE_HOSTENGINE_INFO, else it embeds an engine (NVIDIA/dcgm-exporter 4.8.2: deployment/values.yaml
  "arguments", pkg/cmd/app.go flag remote-hostengine-info);
* the GPU Operator's `nvidia-dcgm` operand is a host engine (assets/state-dcgm at v26.7.0, a containerPort 5555 behind
  the node-local Service nvidia-dcgm); its exporter is a client of nvidia-dcgm:5555 when that runs, of its
  DCGM_REMOTE_HOSTENGINE_INFO otherwise (hostNetwork when it starts with "localhost"), else embeds one
  (controllers/object_controls.go TransformDCGMExporter at v26.7.0).

Checks: at most one engine on any GPU node (NVIDIA/DCGM#108, NVIDIA/DCGM#56, NVIDIA/dcgm-exporter#61,
aws/containers-roadmap#2763); every client reaches an engine on its own node; on a MIG node no GPU holder outside
what MIG Manager stops is left while it changes MIG mode, and a node whose MIG configuration failed loses the engine
the node monitoring agent reads, so node repair replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from preflight.placement.model import MIG_CONFIG, ClusterModel, Node, Pod

HOST_ENGINE_BINARY = "nv-hostengine"
HOST_ENGINE_PORT = 5555
REMOTE_ENV = "DCGM_REMOTE_HOSTENGINE_INFO"
REMOTE_FLAGS = ("-r", "--remote-hostengine-info")
OPERATOR_DCGM_SERVICE = "nvidia-dcgm"
Role = Literal["host-engine", "embedded", "client"]

# What MIG Manager stops before it changes MIG mode and waits for (mig-parted v0.15.0 pkg/mig/reconfigure/
# reconfigure.go shutdownKubernetesGPUClients, waitForPodsToBeDeleted, waitForPodsWithNodeSelector): the operator's
# operands by their deploy labels, and any DaemonSet pod that selects on the third-party client label.
MIG_STATE = "nvidia.com/mig.config.state"
PAUSED = "paused-for-mig-change"
PAUSED_DEPLOY_LABELS = (
    "nvidia.com/gpu.deploy.device-plugin",
    "nvidia.com/gpu.deploy.gpu-feature-discovery",
    "nvidia.com/gpu.deploy.dcgm-exporter",
    "nvidia.com/gpu.deploy.dcgm",
    "nvidia.com/gpu.deploy.nvsm",
)
CLIENT_LABEL = "nvidia.com/gpu.deploy.client"
# Operands MIG Manager waits for by their app label before it touches the GPUs (same function).
WAITED_OPERAND_ROLES = ("device-plugin", "gfd", "dcgm-exporter", "dcgm")
AGENT_RELEASE = "add-on eks-node-monitoring-agent"


@dataclass(frozen=True)
class DcgmProcess:
    """One row of the table: a container's part in DCGM on the node its pod runs on."""

    pod: Pod
    container: str
    role: Role
    endpoint: str | None = None  # a client's host:port; an engine's port on the node ("hostPort 5555")
    host_network: bool = False
    why: str = ""

    @property
    def holds_gpus(self) -> bool:
        """Engines open every GPU of the node; a client only talks to one."""
        return self.role != "client"


def _remote_from(args: Sequence[str], env: Mapping[str, str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in REMOTE_FLAGS and i + 1 < len(args):
            return args[i + 1]
        for flag in REMOTE_FLAGS:
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return env.get(REMOTE_ENV)


def _engine_port(container: Mapping[str, Any]) -> str | None:
    for port in container.get("ports") or []:
        if port.get("containerPort") == HOST_ENGINE_PORT and port.get("hostPort"):
            return f"hostPort {port['hostPort']}"
    return None


def chart_processes(pod: Pod) -> list[DcgmProcess]:
    """The DCGM rows of one chart pod (an empty list for a pod with nothing to do with DCGM)."""
    rows = []
    host_network = bool(pod.spec.get("hostNetwork"))
    for container in pod.spec.get("containers") or []:
        command = [str(c) for c in container.get("command") or []]
        args = [str(a) for a in container.get("args") or []]
        image = str(container.get("image", ""))
        env = {e["name"]: e.get("value", "") for e in container.get("env") or []}
        if any(part.rsplit("/", 1)[-1] == HOST_ENGINE_BINARY for part in command):
            rows.append(
                DcgmProcess(
                    pod, container["name"], "host-engine", _engine_port(container), host_network, "runs nv-hostengine"
                )
            )
        elif "dcgm-exporter" in image:
            remote = _remote_from(args, env)
            if remote is None:
                rows.append(DcgmProcess(pod, container["name"], "embedded", None, host_network, "dcgm-exporter, no -r"))
            else:
                rows.append(
                    DcgmProcess(pod, container["name"], "client", remote, host_network, f"dcgm-exporter -r {remote}")
                )
    return rows


def operand_processes(pod: Pod, cluster_policy: Mapping[str, Any]) -> list[DcgmProcess]:
    """The DCGM rows of a GPU Operator operand, from the ClusterPolicy the operator builds it from."""
    spec = cluster_policy["spec"]
    if pod.role == "dcgm":
        return [DcgmProcess(pod, "nvidia-dcgm-ctr", "host-engine", f"service {OPERATOR_DCGM_SERVICE}", why="operand")]
    if pod.role != "dcgm-exporter":
        return []
    if (spec.get("dcgm") or {}).get("enabled"):
        endpoint = f"{OPERATOR_DCGM_SERVICE}:{HOST_ENGINE_PORT}"
        return [DcgmProcess(pod, "nvidia-dcgm-exporter", "client", endpoint, why="the operator's DCGM is on")]
    env = {e["name"]: e.get("value", "") for e in (spec.get("dcgmExporter") or {}).get("env") or []}
    remote = _remote_from([str(a) for a in (spec.get("dcgmExporter") or {}).get("args") or []], env)
    if remote is None:
        return [DcgmProcess(pod, "nvidia-dcgm-exporter", "embedded", why="no remote host engine set")]
    host_network = remote.startswith("localhost") or bool((spec.get("dcgmExporter") or {}).get("hostNetwork"))
    return [DcgmProcess(pod, "nvidia-dcgm-exporter", "client", remote, host_network, f"{REMOTE_ENV}={remote}")]


def dcgm_processes(model: ClusterModel) -> list[DcgmProcess]:
    """Every DCGM row of the stack's pods."""
    rows = []
    for pod in model.pods:
        if pod.kind != "DaemonSet":
            continue
        if pod.name.startswith(f"{pod.release} operand") and model.cluster_policy is not None:
            rows += operand_processes(pod, model.cluster_policy)
        else:
            rows += chart_processes(pod)
    return rows


def _runs(model: ClusterModel, process: DcgmProcess, node: Node, labels: Mapping[str, str] | None = None) -> bool:
    if labels is not None:
        node = replace(node, labels=dict(labels))
    return not model.problems(process.pod, node, resources=False)


def on_node(model: ClusterModel, node: Node, labels: Mapping[str, str] | None = None) -> list[DcgmProcess]:
    """The DCGM rows whose pod runs on `node` (with `labels` instead of its settled labels, when given)."""
    return [p for p in dcgm_processes(model) if _runs(model, p, node, labels)]


def _env_of(process: DcgmProcess) -> dict[str, Any]:
    for container in process.pod.spec.get("containers") or []:
        if container["name"] == process.container:
            return {e["name"]: e for e in container.get("env") or []}
    return {}


def _serves(engine: DcgmProcess, client: DcgmProcess) -> str | None:
    """Why the engine answers the client on the same node, or None."""
    endpoint = client.endpoint or ""
    host, _, port = endpoint.rpartition(":")
    if engine.role != "host-engine" or port != str(HOST_ENGINE_PORT):
        return None
    if host == OPERATOR_DCGM_SERVICE:
        # The operator's Service has internalTrafficPolicy Local (assets/state-dcgm/0500_service.yaml at v26.7.0).
        return "node-local Service" if engine.endpoint == f"service {OPERATOR_DCGM_SERVICE}" else None
    reachable_on_node = engine.endpoint == f"hostPort {HOST_ENGINE_PORT}" or engine.host_network
    if not reachable_on_node:
        return None
    if host == "localhost":
        return "localhost" if client.host_network else None
    variable = re.fullmatch(r"\$\((\w+)\)", host)
    if variable:
        source = _env_of(client).get(variable.group(1)) or {}
        field = ((source.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        return "the node's IP" if field == "status.hostIP" else None
    return None


def host_engine_failures(model: ClusterModel) -> dict[str, list[str]]:
    """GPU node -> what is wrong with DCGM there: more than one engine, or a client no engine on the node serves."""
    failures: dict[str, list[str]] = {}
    for node in model.nodes:
        if node.gpu is None:
            continue
        rows = on_node(model, node)
        engines = [p for p in rows if p.holds_gpus]
        problems = []
        if len(engines) > 1:
            problems.append(
                f"{len(engines)} DCGM host engines ({', '.join(f'{p.pod.name} [{p.role}]' for p in engines)}); "
                "NVIDIA supports one per node (NVIDIA/DCGM#108)"
            )
        for client in (p for p in rows if p.role == "client"):
            if not any(_serves(engine, client) for engine in engines):
                problems.append(
                    f"{client.pod.name} connects to {client.endpoint}, which no host engine on the node serves"
                )
        if problems:
            failures[node.name] = problems
    return failures


def _mig_node(model: ClusterModel, node: Node) -> bool:
    managers = [p for p in model.pods if p.role == "mig-manager"]
    return (
        node.gpu is not None
        and MIG_CONFIG in node.labels
        and any(not model.problems(p, node, resources=False) for p in managers)
    )


def during_mig_change(labels: Mapping[str, str]) -> dict[str, str]:
    """A node's labels while MIG Manager changes MIG mode: state pending, what it stops paused."""
    changed = {**labels, MIG_STATE: "pending"}
    for key in (*PAUSED_DEPLOY_LABELS, CLIENT_LABEL):
        if key in labels:
            changed[key] = PAUSED
    return changed


def mig_change_failures(model: ClusterModel) -> dict[str, list[str]]:
    """MIG node -> GPU holders MIG Manager neither stops nor waits for before it resets the GPUs (the reset fails
    while any process holds a GPU, mig-parted#181), or that it stops without waiting for them (a race)."""
    failures: dict[str, list[str]] = {}
    for node in model.nodes:
        if not _mig_node(model, node):
            continue
        paused = during_mig_change(node.labels)
        problems = []
        for process in on_node(model, node):
            if not process.holds_gpus:
                continue
            operand = process.pod.name.startswith(f"{process.pod.release} operand")
            if operand and process.pod.role in WAITED_OPERAND_ROLES:
                continue
            if _runs(model, process, node, paused):
                problems.append(f"{process.pod.name} holds the GPUs while MIG Manager changes MIG mode")
            elif CLIENT_LABEL not in (process.pod.spec.get("nodeSelector") or {}):
                problems.append(
                    f"{process.pod.name} leaves during a MIG change but MIG Manager does not wait for it (it waits for "
                    f"DaemonSet pods selecting on {CLIENT_LABEL})"
                )
        if problems:
            failures[node.name] = problems
    return failures


def mig_failure_repair_gaps(model: ClusterModel) -> dict[str, list[str]]:
    """MIG node -> why node repair would not replace it when its MIG configuration fails: the node monitoring agent
    still reads a host engine there, so AcceleratedHardwareReady stays True on a node with no MIG slices."""
    gaps: dict[str, list[str]] = {}
    agent_engines = [p for p in dcgm_processes(model) if p.role == "host-engine" and p.pod.release == AGENT_RELEASE]
    if not agent_engines:
        return gaps  # no agent, no node repair: nothing to keep consistent
    for node in model.nodes:
        if not _mig_node(model, node):
            continue
        failed = {**node.labels, MIG_STATE: "failed"}
        running = [p.pod.name for p in agent_engines if _runs(model, p, node, failed)]
        if running:
            gaps[node.name] = [
                f"{', '.join(running)} keeps running after MIG Manager fails, so node repair never sees it"
            ]
    return gaps


def process_table(model: ClusterModel) -> dict[str, list[str]]:
    """GPU node -> every DaemonSet pod on it, with its DCGM part when it has one (for the docs and the report)."""
    table = {}
    rows = dcgm_processes(model)
    for node in model.nodes:
        if node.gpu is None:
            continue
        lines = []
        for pod in model.pods:
            if pod.kind != "DaemonSet" or model.problems(pod, node, resources=False):
                continue
            parts = [
                f"{p.container}: {p.role}" + (f" ({p.endpoint})" if p.endpoint else "") for p in rows if p.pod is pod
            ]
            lines.append(pod.name + (f" — {'; '.join(parts)}" if parts else ""))
        table[node.name] = lines
    return table
