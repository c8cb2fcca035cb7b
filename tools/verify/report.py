"""The run's report: a Markdown table (one row per pool, then per-node details) and the same facts as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tools.verify.checks import fmt_duration
from tools.verify.run import PoolResult

COLUMNS = (
    "pool",
    "strategy",
    "slices asked",
    "nodes expected",
    "nodes launched",
    "instance types",
    "time to ready",
    "time to scale-in",
    "verdict",
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def instance_types(result: PoolResult) -> str:
    counts = Counter((n.instance_type or "?", n.capacity_type or "?") for n in result.obs.launched_nodes())
    return ", ".join(f"{t} ×{k} ({c})" for (t, c), k in sorted(counts.items())) or "none"


def _ready(result: PoolResult) -> str:
    obs = result.obs
    if obs.all_running is not None:
        return f"{fmt_duration(obs.all_running)} (first {fmt_duration(obs.first_running)})"
    if obs.interrupted:
        return f"interrupted ({obs.running}/{result.plan.slices})"
    return f"timed out ({obs.running}/{result.plan.slices} Running)"


def _scale_in(result: PoolResult) -> str:
    obs = result.obs
    if obs.scale_in is not None:
        return fmt_duration(obs.scale_in)
    if obs.scale_in_note:
        return "not awaited (consolidateAfter Never)"
    if obs.interrupted:
        return "—"
    return f"timed out ({fmt_duration(obs.scale_in_timeout)})"


def row(result: PoolResult) -> list[str]:
    plan = result.plan
    verdict = "pass" if not result.reasons else "**fail**: " + "; ".join(result.reasons)
    return [
        plan.pool.name,
        plan.pool.describe_strategy(),
        str(plan.slices),
        f"{plan.min_nodes}–{plan.max_nodes}",
        str(len(result.obs.launched_nodes())),
        instance_types(result),
        _ready(result),
        _scale_in(result),
        verdict,
    ]


def markdown(stack: str, results: list[PoolResult], namespace: str) -> str:
    lines = [f"## gpu-eks verify: {stack}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(c) for c in row(r)) + " |" for r in results]
    lines += ["", f"Namespace `{namespace}` (deleted at exit)."]
    for result in results:
        obs = result.obs
        lines += [
            "",
            f"### {result.plan.pool.name}",
            "",
            f"- consolidation: {result.consolidation or 'unknown'}; NodeClaims created: {len(obs.claims)}",
        ]
        if result.nccl:
            lines.append(f"- NCCL all_reduce_perf: {json.dumps(result.nccl, sort_keys=True)}")
        per_node = obs.pods_per_node()
        if obs.nodes:
            lines += ["", "| node | instance type | capacity | zone | advertised | pods |", "|---|---|---|---|---|---|"]
            for name, node in sorted(obs.nodes.items()):
                lines.append(
                    f"| {name}{' (existing)' if node.preexisting else ''} | {node.instance_type} | "
                    f"{node.capacity_type} | {node.zone} | {node.advertised if node.advertised is not None else '—'} | "
                    f"{per_node.get(name, 0)} |"
                )
    return "\n".join(lines) + "\n"


def to_json(stack: str, results: list[PoolResult], namespace: str) -> dict[str, Any]:
    pools = []
    for result in results:
        plan, obs = result.plan, result.obs
        pools.append(
            {
                "pool": plan.pool.name,
                "strategy": plan.pool.strategy,
                "resourceName": plan.pool.resource_name,
                "slices": plan.slices,
                "nodesExpected": {"min": plan.min_nodes, "max": plan.max_nodes},
                "nodesLaunched": len(obs.launched_nodes()),
                "nodesCounted": obs.counted_nodes(),
                "nodes": [
                    {
                        "name": n.name,
                        "pool": n.nodepool,
                        "instanceType": n.instance_type,
                        "capacityType": n.capacity_type,
                        "zone": n.zone,
                        "advertised": n.advertised,
                        "ready": n.ready,
                        "preexisting": n.preexisting,
                    }
                    for n in obs.nodes.values()
                ],
                "nodeClaims": [
                    {
                        "name": c.name,
                        "instanceType": c.instance_type,
                        "capacityType": c.capacity_type,
                        "zone": c.zone,
                        "node": c.node_name,
                        "launched": c.launched,
                        "failure": c.failure,
                    }
                    for c in obs.claims.values()
                ],
                "podsPerNode": obs.pods_per_node(),
                "podsRunning": obs.running,
                "secondsToFirstRunning": obs.first_running,
                "secondsToAllRunning": obs.all_running,
                "readyTimeoutSeconds": obs.ready_timeout,
                "secondsToScaleIn": obs.scale_in,
                "scaleInTimeoutSeconds": obs.scale_in_timeout,
                "scaleInNote": obs.scale_in_note,
                "nodesLeft": obs.nodes_left,
                "consolidation": result.consolidation,
                "capacityErrors": obs.capacity_errors,
                "quotaErrors": obs.quota_errors,
                "launchErrors": obs.launch_errors,
                "interrupted": obs.interrupted,
                "nccl": result.nccl,
                "verdict": result.verdict,
                "reasons": result.reasons,
            }
        )
    return {
        "stack": stack,
        "namespace": namespace,
        "pools": pools,
        "verdict": "pass" if all(r.verdict == "pass" for r in results) and results else "fail",
    }


def write(directory: Path, stack: str, results: list[PoolResult], namespace: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / "report.md", directory / "report.json"
    md.write_text(markdown(stack, results, namespace))
    js.write_text(json.dumps(to_json(stack, results, namespace), indent=2, sort_keys=True) + "\n")
    return md, js
