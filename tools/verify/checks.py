"""What a run saw, and the verdict against the contract (pure functions over plain data).

The run loop (run.py) turns API objects into these records; `reasons()` compares them with the plan (plan.py)
and returns one line per failed check, so an empty list is a pass. Every reason names the check and the objects
involved, because the report is read by someone who was not watching the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tools.verify.plan import PoolPlan

POOL_LABEL = "karpenter.sh/nodepool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
ZONE_LABEL = "topology.kubernetes.io/zone"

# EC2 error codes Karpenter passes through when a launch fails on an account limit rather than on capacity.
QUOTA_MARKERS = ("VcpuLimitExceeded", "MaxSpotInstanceCountExceeded", "InstanceLimitExceeded", "quota")
CAPACITY_MARKERS = (
    "InsufficientCapacityError",
    "InsufficientInstanceCapacity",
    "insufficient capacity",
    "UnfulfillableCapacity",
)


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go/Karpenter duration ('30s', '10m', '1h30m', '1.5h'); None for 'Never' or nothing."""
    if text is None or str(text).strip() in ("", "Never"):
        return None
    text = str(text).strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use 30s, 10m, 1h30m)")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class NodeSeen:
    name: str
    nodepool: str | None
    instance_type: str | None
    capacity_type: str | None
    zone: str | None
    labels: dict[str, str]
    advertised: int | None  # allocatable of the pool's resource; None when the node does not list it
    ready: bool
    preexisting: bool = False

    @classmethod
    def from_api(cls, node: dict[str, Any], resource: str, preexisting: bool = False) -> NodeSeen:
        labels = (node.get("metadata") or {}).get("labels") or {}
        status = node.get("status") or {}
        raw = (status.get("allocatable") or {}).get(resource)
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        return cls(
            name=node["metadata"]["name"],
            nodepool=labels.get(POOL_LABEL),
            instance_type=labels.get(INSTANCE_TYPE_LABEL),
            capacity_type=labels.get(CAPACITY_TYPE_LABEL),
            zone=labels.get(ZONE_LABEL),
            labels=dict(labels),
            advertised=None if raw is None else int(str(raw)),
            ready=conditions.get("Ready") == "True",
            preexisting=preexisting,
        )


@dataclass
class ClaimSeen:
    name: str
    nodepool: str | None
    instance_type: str | None
    capacity_type: str | None
    zone: str | None
    node_name: str | None
    launched: bool
    failure: str | None  # the Launched=False condition's reason and message

    @classmethod
    def from_api(cls, claim: dict[str, Any]) -> ClaimSeen:
        labels = (claim.get("metadata") or {}).get("labels") or {}
        status = claim.get("status") or {}
        launched: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Launched"), {})
        failure = f"{launched.get('reason')}: {launched.get('message')}" if launched.get("status") == "False" else None
        return cls(
            name=claim["metadata"]["name"],
            nodepool=labels.get(POOL_LABEL),
            instance_type=labels.get(INSTANCE_TYPE_LABEL),
            capacity_type=labels.get(CAPACITY_TYPE_LABEL),
            zone=labels.get(ZONE_LABEL),
            node_name=status.get("nodeName") or None,
            launched=launched.get("status") == "True",
            failure=failure,
        )


@dataclass
class PodSeen:
    name: str
    node: str | None
    phase: str


@dataclass
class Observation:
    """Everything one pool's run recorded; times are seconds from the scale-out (or scale-in) request."""

    pods: list[PodSeen] = field(default_factory=list)
    nodes: dict[str, NodeSeen] = field(default_factory=dict)  # every node that hosted a pod or was launched
    claims: dict[str, ClaimSeen] = field(default_factory=dict)  # NodeClaims created during the run
    capacity_errors: list[str] = field(default_factory=list)
    quota_errors: list[str] = field(default_factory=list)
    launch_errors: list[str] = field(default_factory=list)
    first_running: float | None = None
    all_running: float | None = None
    ready_timeout: float = 0.0
    scale_in: float | None = None
    scale_in_timeout: float | None = None
    scale_in_note: str | None = None  # why the scale-in was not waited for
    nodes_left: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def running(self) -> int:
        return sum(1 for p in self.pods if p.phase == "Running")

    def counted_nodes(self) -> list[str]:
        """Nodes the run used or made Karpenter launch: hosts of the pods, plus launched claims (by node if joined)."""
        keys = {p.node for p in self.pods if p.node}
        for claim in self.claims.values():
            if claim.launched or claim.node_name:
                keys.add(claim.node_name or f"nodeclaim/{claim.name}")
        return sorted(keys)

    def pods_per_node(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pod in self.pods:
            if pod.node:
                counts[pod.node] = counts.get(pod.node, 0) + 1
        return dict(sorted(counts.items()))

    def launched_nodes(self) -> list[NodeSeen]:
        return [n for n in self.nodes.values() if not n.preexisting and n.nodepool is not None]


def _some(items: list[str], limit: int = 3) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def reasons(plan: PoolPlan, obs: Observation) -> list[str]:
    """One line per failed check; [] is a pass."""
    pool = plan.pool
    found: list[str] = []
    counted = obs.counted_nodes()
    if len(counted) > plan.max_nodes:
        found.append(
            f"too many nodes: {len(counted)} for {plan.slices} slices, the contract allows at most "
            f"{plan.max_nodes} (does Karpenter see the NodeOverlay's count, or one slice per GPU?)"
        )
    if obs.all_running is not None and len(counted) < plan.min_nodes:
        found.append(
            f"too few nodes: {len(counted)} for {plan.slices} slices, the contract needs at least "
            f"{plan.min_nodes} (nodes hold more slices than slicesPerNode says)"
        )
    foreign = []
    for pod in obs.pods:
        node = obs.nodes.get(pod.node) if pod.node else None
        if node is None:
            continue
        off_selector = any(node.labels.get(k) != v for k, v in pool.node_selector.items())
        if node.nodepool != pool.name or off_selector:
            foreign.append(f"{pod.name} on {node.name} (pool {node.nodepool or 'none'})")
    if foreign:
        found.append(f"pods on another pool: {_some(foreign)}")
    mismatched = []
    for name in counted:
        node = obs.nodes.get(name)
        if node is None or node.nodepool != pool.name:
            continue
        expected = pool.slices_per_node.get(node.instance_type or "")
        if expected is None:
            mismatched.append(f"{name} is a {node.instance_type}, not one of the contract's instance types")
        elif node.advertised != expected:
            mismatched.append(
                f"{name} ({node.instance_type}) advertises {node.advertised or 0} {pool.resource_name}, "
                f"the contract says {expected}"
            )
    if mismatched:
        found.append(f"advertised count differs from the contract: {_some(mismatched)}")
    if obs.capacity_errors:
        found.append(f"insufficient capacity: {_some(obs.capacity_errors, 2)}")
    if obs.quota_errors:
        found.append(f"quota: {_some(obs.quota_errors, 2)}")
    if obs.launch_errors:
        found.append(f"launch failed: {_some(obs.launch_errors, 2)}")
    if obs.all_running is None and not obs.interrupted:
        found.append(f"not Ready within {fmt_duration(obs.ready_timeout)}: {obs.running}/{plan.slices} pods Running")
    if obs.scale_in is None and obs.scale_in_note is None and not obs.interrupted:
        found.append(
            f"scale-in: {len(obs.nodes_left)} node(s) still there {fmt_duration(obs.scale_in_timeout)} after "
            f"scaling to 0 ({_some(obs.nodes_left)}); check the NodePool's disruption settings"
        )
    if obs.interrupted:
        found.append("interrupted (Ctrl-C): the namespace was deleted; Karpenter removes the empty nodes")
    return found


def classify_failure(text: str) -> str:
    """'quota', 'capacity' or 'launch' for a NodeClaim launch failure or a Karpenter event message."""
    if any(marker.lower() in text.lower() for marker in QUOTA_MARKERS):
        return "quota"
    if any(marker.lower() in text.lower() for marker in CAPACITY_MARKERS):
        return "capacity"
    return "launch"
