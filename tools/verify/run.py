"""The scale loop: scale a pool's smoke Deployment out to N slices, watch Karpenter, scale it in, watch it clean up.

Polling lists (not watches) on purpose: one poll reads pods, nodes, NodeClaims and Karpenter's NodeClaim events,
so every observation is a consistent-enough snapshot, a dropped watch cannot lose a NodeClaim that lived for
seconds (an insufficient-capacity launch is created and deleted quickly), and tests drive it with a poll interval
of milliseconds. All waits, timeouts and the clock are parameters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.verify import workload as wl
from tools.verify.checks import (
    POOL_LABEL,
    ClaimSeen,
    NodeSeen,
    Observation,
    PodSeen,
    classify_failure,
    fmt_duration,
    parse_duration,
    reasons,
)
from tools.verify.kube import Kube
from tools.verify.plan import PoolPlan
from tools.verify.progress import Progress


@dataclass
class Timing:
    poll: float = 10.0
    ready_timeout: float = 1800.0
    scale_in_timeout: float | None = None  # None: the NodePool's consolidateAfter plus scale_in_margin
    scale_in_margin: float = 900.0  # drain, terminationGracePeriod and instance shutdown after consolidateAfter
    cleanup_timeout: float = 120.0


@dataclass
class PoolResult:
    plan: PoolPlan
    obs: Observation
    reasons: list[str] = field(default_factory=list)
    consolidation: str | None = None  # "WhenEmpty after 10m", from the NodePool
    nccl: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        return "pass" if not self.reasons else "fail"


class Runner:
    """Runs pools one after another in one namespace (so at most one pool's nodes are up at a time)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        timing: Timing,
        progress: Progress,
        workload: str = "vector-add",
        image: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.kube = kube
        self.namespace = namespace
        self.timing = timing
        self.progress = progress
        self.workload = workload
        self.image = image
        self.clock = clock
        self.sleep = sleep
        self.current: PoolResult | None = None  # the pool in flight, for the report after Ctrl-C

    # -- one pool -------------------------------------------------------------------------------------------------
    def run_pool(self, plan: PoolPlan) -> PoolResult:
        pool = plan.pool
        obs = Observation(ready_timeout=self.timing.ready_timeout)
        result = PoolResult(plan=plan, obs=obs)
        self.current = result
        nodepool = self.kube.get_nodepool(pool.name)
        if nodepool is None:
            result.reasons = [f"NodePool {pool.name} not found in the cluster (outputs from another deployment?)"]
            return result
        disruption = (nodepool.get("spec") or {}).get("disruption") or {}
        policy, after = disruption.get("consolidationPolicy"), disruption.get("consolidateAfter")
        result.consolidation = f"{policy or '?'} after {after or '?'}"

        pool_selector = f"{POOL_LABEL}={pool.name}"
        # Every node that exists now, whatever its pool: none of them counts as launched by this run.
        baseline_nodes = {n["metadata"]["name"] for n in self.kube.list_nodes()}
        baseline_claims = {c["metadata"]["name"] for c in self.kube.list_nodeclaims(pool_selector)}
        seen_events = {_event_key(e) for e in self._claim_events()}
        state = _State(baseline_nodes, baseline_claims, seen_events)

        name = wl.deployment_name(pool)
        self.kube.create_deployment(self.namespace, wl.deployment(pool, self.workload, self.image, replicas=0))
        start = self.clock()
        self.kube.scale_deployment(self.namespace, name, plan.slices)
        while True:
            self._observe(plan, obs, state)
            elapsed = self.clock() - start
            if obs.running and obs.first_running is None:
                obs.first_running = elapsed
            if obs.running >= plan.slices:
                obs.all_running = elapsed
                break
            if elapsed >= self.timing.ready_timeout:
                break
            launched = sum(1 for c in obs.claims.values() if c.launched)
            ready = sum(1 for n in obs.nodes.values() if n.ready and not n.preexisting)
            self.progress.update(
                f"{pool.name}: {obs.running}/{plan.slices} Running, {len(obs.claims)} NodeClaims "
                f"({launched} launched), {ready} new nodes Ready [{fmt_duration(elapsed)}]"
            )
            self.sleep(self.timing.poll)
        self.progress.done(
            f"{pool.name}: {obs.running}/{plan.slices} Running on {len(obs.counted_nodes())} node(s) after "
            f"{fmt_duration(self.clock() - start)}" + ("" if obs.all_running is not None else " (timed out)")
        )

        self._scale_in(plan, obs, state, after)
        self.kube.delete_deployment(self.namespace, name)
        result.reasons = reasons(plan, obs)
        self.current = None
        return result

    def _scale_in(self, plan: PoolPlan, obs: Observation, state: _State, consolidate_after: str | None) -> None:
        pool = plan.pool
        try:
            after = parse_duration(consolidate_after)
        except ValueError:
            after = None
        if consolidate_after == "Never":
            obs.scale_in_note = "consolidateAfter is Never: Karpenter keeps empty nodes, so removal was not awaited"
        timeout = self.timing.scale_in_timeout
        if timeout is None:
            timeout = (after or 0.0) + self.timing.scale_in_margin
        obs.scale_in_timeout = timeout
        launched_nodes = {n.name for n in obs.launched_nodes()}
        launched_claims = {c.name for c in obs.claims.values() if c.launched or c.node_name}
        pool_selector = f"{POOL_LABEL}={pool.name}"
        start = self.clock()
        self.kube.scale_deployment(self.namespace, wl.deployment_name(pool), 0)
        while True:
            pods = self.kube.list_pods(self.namespace, wl.selector(pool))
            if obs.scale_in_note:
                left: list[str] = []
            else:
                nodes = {n["metadata"]["name"] for n in self.kube.list_nodes(pool_selector)}
                claims = {c["metadata"]["name"] for c in self.kube.list_nodeclaims(pool_selector)}
                left_nodes = launched_nodes & nodes
                # A claim whose node is still listed is already counted by its node.
                left_claims = {c for c in launched_claims & claims if _claim_node(obs, c) not in left_nodes}
                left = sorted(left_nodes) + sorted(f"nodeclaim/{c}" for c in left_claims)
            elapsed = self.clock() - start
            if not pods and not left:
                if not obs.scale_in_note:
                    obs.scale_in = elapsed
                break
            if elapsed >= timeout:
                obs.nodes_left = left or [f"{len(pods)} pod(s) still terminating"]
                break
            self.progress.update(
                f"{pool.name}: scaled to 0, {len(pods)} pods left, {len(left)} node(s) still up "
                f"(consolidateAfter {consolidate_after}) [{fmt_duration(elapsed)}]"
            )
            self.sleep(self.timing.poll)
        self.progress.done(
            f"{pool.name}: scale-in "
            + (
                f"done in {fmt_duration(obs.scale_in)}"
                if obs.scale_in is not None
                else obs.scale_in_note or f"timed out after {fmt_duration(timeout)}"
            )
        )

    # -- observation ----------------------------------------------------------------------------------------------
    def _claim_events(self) -> list[dict[str, Any]]:
        return self.kube.list_events(field_selector="involvedObject.kind=NodeClaim")

    def _observe(self, plan: PoolPlan, obs: Observation, state: _State) -> None:
        pool = plan.pool
        pods = self.kube.list_pods(self.namespace, wl.selector(pool))
        obs.pods = [
            PodSeen(
                name=p["metadata"]["name"],
                node=(p.get("spec") or {}).get("nodeName"),
                phase=(p.get("status") or {}).get("phase") or "Unknown",
            )
            for p in pods
        ]
        for claim in self.kube.list_nodeclaims(f"{POOL_LABEL}={pool.name}"):
            seen = ClaimSeen.from_api(claim)
            if seen.name in state.baseline_claims:
                continue
            obs.claims[seen.name] = seen
            if seen.failure:
                _record(obs, classify_failure(seen.failure), f"NodeClaim {seen.name}: {seen.failure}")
        hosts = {p.node for p in obs.pods if p.node}
        claim_nodes = {c.node_name for c in obs.claims.values() if c.node_name}
        for node in self.kube.list_nodes():
            name = node["metadata"]["name"]
            labels = node["metadata"].get("labels") or {}
            new_in_pool = labels.get(POOL_LABEL) == pool.name and name not in state.baseline_nodes
            if name in hosts or name in claim_nodes or new_in_pool:
                obs.nodes[name] = NodeSeen.from_api(node, pool.resource_name, name in state.baseline_nodes)
        # Karpenter reports a failed launch as an event on the NodeClaim, then deletes the claim: the event is
        # often all that is left. NodeClaims are named <nodepool>-<suffix>.
        own = re.compile(rf"^{re.escape(pool.name)}-[a-z0-9]+$")
        for event in self._claim_events():
            key = _event_key(event)
            involved = (event.get("involvedObject") or {}).get("name") or ""
            if key in state.seen_events or not own.match(involved):
                continue
            state.seen_events.add(key)
            text = f"{event.get('reason')}: {event.get('message')}"
            kind = classify_failure(text)
            # Only capacity and quota warnings: other NodeClaim events (disruption, drift) are not launch failures,
            # and launch errors already show in the claim's Launched=False condition.
            if event.get("type") == "Warning" and kind in ("capacity", "quota"):
                _record(obs, kind, f"NodeClaim {involved}: {event.get('message')}")
        for event in self.kube.list_events(self.namespace):
            message = event.get("message") or ""
            if event.get("reason") == "FailedCreate" and "exceeded quota" in message:
                _record(obs, "quota", f"ResourceQuota in {self.namespace}: {message}")


@dataclass
class _State:
    baseline_nodes: set[str]
    baseline_claims: set[str]
    seen_events: set[str]


def _event_key(event: dict[str, Any]) -> str:
    meta = event.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"


def _record(obs: Observation, kind: str, message: str) -> None:
    bucket = {"quota": obs.quota_errors, "capacity": obs.capacity_errors}.get(kind, obs.launch_errors)
    if message not in bucket:
        bucket.append(message)


def _claim_node(obs: Observation, claim: str) -> str | None:
    seen = obs.claims.get(claim)
    return seen.node_name if seen else None
