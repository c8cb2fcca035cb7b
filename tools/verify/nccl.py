"""`--nccl`: run the NCCL all-reduce example on an EFA pool and report its bus bandwidth.

Today no pool has EFA and the repository has no examples/nccl-tests/, so `availability()` says so and the run
skips it. The hook is keyed on what a later contract adds: a `gpuPools.<pool>.efa` entry (any truthy value) and an
examples/nccl-tests/*.yaml MPIJob (Kubeflow MPI Operator, kubeflow.org/v2beta1) whose launcher runs
`all_reduce_perf`. `run()` places that MPIJob's workers on the pool (its nodeSelector and tolerations), waits for
the launcher pod, reads its log and parses it.

The log format is nccl-tests' (NVIDIA/nccl-tests README, "Performance" and doc/PERFORMANCE.md): a header, one row
per message size with out-of-place and in-place `time algbw busbw #wrong`, then `# Out of bounds values : N OK`
and `# Avg bus bandwidth : X`. busbw is the figure comparable to the hardware's link speed; the report gives the
average line, the peak, and the busbw at the largest size. mpirun's `--tag-output` prefixes (`[1,0]<stdout>:`) and
srun's `-l` prefixes (`0: `) are stripped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.verify.plan import PoolContract

EXAMPLE_DIR = Path("examples") / "nccl-tests"
LAUNCHER_SELECTOR = "training.kubeflow.org/job-name={name},training.kubeflow.org/job-role=launcher"

_PREFIX = re.compile(r"^(?:\[\d+,\d+\]<std(?:out|err)>:|\s*\d+:\s)")
_NUM = r"(\d+(?:\.\d+)?)"
_WRONG = r"(\d+|N/A)"
_ROW = re.compile(
    rf"^\s*(\d+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(-?\d+)\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_WRONG}"
    rf"\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_WRONG}\s*$"
)
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*" + _NUM)
_OOB = re.compile(r"^#\s*Out of bounds values\s*:\s*(\d+)\s+(OK|FAILED)")


class NcclParseError(ValueError):
    pass


@dataclass(frozen=True)
class NcclRow:
    size_bytes: int
    count: int
    dtype: str
    redop: str
    busbw_out_of_place: float
    busbw_in_place: float
    algbw_out_of_place: float
    wrong: int  # out-of-place plus in-place errors; N/A (no check) counts as 0


@dataclass(frozen=True)
class NcclResult:
    rows: tuple[NcclRow, ...]
    avg_busbw: float | None
    out_of_bounds: int | None

    @property
    def peak_busbw(self) -> float:
        return max(max(r.busbw_out_of_place, r.busbw_in_place) for r in self.rows)

    @property
    def largest(self) -> NcclRow:
        return max(self.rows, key=lambda r: r.size_bytes)

    @property
    def wrong(self) -> int:
        return sum(r.wrong for r in self.rows)

    def summary(self) -> dict[str, Any]:
        return {
            "avgBusbwGBps": self.avg_busbw,
            "peakBusbwGBps": self.peak_busbw,
            "busbwAtLargestGBps": max(self.largest.busbw_out_of_place, self.largest.busbw_in_place),
            "largestBytes": self.largest.size_bytes,
            "sizes": len(self.rows),
            "wrong": self.wrong,
            "outOfBounds": self.out_of_bounds,
        }


def parse_all_reduce(text: str) -> NcclResult:
    """The rows and summary lines of an all_reduce_perf (or any nccl-tests *_perf) log."""
    rows: list[NcclRow] = []
    avg = oob = None
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw, count=1)
        if m := _ROW.match(line):
            wrong = sum(int(w) for w in (m.group(9), m.group(13)) if w != "N/A")
            rows.append(
                NcclRow(
                    size_bytes=int(m.group(1)),
                    count=int(m.group(2)),
                    dtype=m.group(3),
                    redop=m.group(4),
                    algbw_out_of_place=float(m.group(7)),
                    busbw_out_of_place=float(m.group(8)),
                    busbw_in_place=float(m.group(12)),
                    wrong=wrong,
                )
            )
        elif m := _AVG.match(line):
            avg = float(m.group(1))
        elif m := _OOB.match(line):
            oob = int(m.group(1))
    if not rows:
        raise NcclParseError("no result rows in the nccl-tests output (did all_reduce_perf run to the end?)")
    return NcclResult(rows=tuple(rows), avg_busbw=avg, out_of_bounds=oob)


def find_example(repo_root: Path) -> Path | None:
    """The first examples/nccl-tests/*.yaml that runs all_reduce_perf."""
    directory = repo_root / EXAMPLE_DIR
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.yaml")):
        if "all_reduce_perf" in path.read_text():
            return path
    return None


def availability(pools: list[PoolContract], repo_root: Path) -> tuple[list[PoolContract], Path | None, str | None]:
    """(EFA pools, the example, why --nccl cannot run or None)."""
    efa = [p for p in pools if p.efa]
    example = find_example(repo_root)
    missing = []
    if not efa:
        missing.append("no EFA pool (no gpuPools entry in the outputs has `efa`)")
    if example is None:
        missing.append(f"no NCCL example ({EXAMPLE_DIR}/*.yaml running all_reduce_perf)")
    return efa, example, ("--nccl skipped: " + "; ".join(missing)) if missing else None


def placed_on(manifest: dict[str, Any], pool: PoolContract, name: str) -> dict[str, Any]:
    """The example's MPIJob renamed, with its workers' (and launcher's) pods pinned to `pool`."""
    job = copy.deepcopy(manifest)
    job.setdefault("metadata", {})["name"] = name
    for spec in ((job.get("spec") or {}).get("mpiReplicaSpecs") or {}).values():
        pod = spec.setdefault("template", {}).setdefault("spec", {})
        pod.setdefault("nodeSelector", {}).update(pool.node_selector)
        tolerations = pod.setdefault("tolerations", [])
        tolerations.extend(t for t in pool.tolerations if t not in tolerations)
    return job


def run(
    kube: Any,
    pool: PoolContract,
    example: Path,
    namespace: str,
    timeout: float,
    poll: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Create the example's MPIJob on `pool`, wait for the launcher to finish, and parse its log."""
    manifest = next((d for d in yaml.safe_load_all(example.read_text()) if d and d.get("kind") == "MPIJob"), None)
    if manifest is None:
        return {"status": "error", "message": f"{example} has no MPIJob"}
    name = f"nccl-{pool.name}"
    kube.create_custom_object(placed_on(manifest, pool, name), namespace)
    start = clock()
    while clock() - start < timeout:
        pods = kube.list_pods(namespace, LAUNCHER_SELECTOR.format(name=name))
        phase = (pods[0].get("status") or {}).get("phase") if pods else None
        if phase in ("Succeeded", "Failed"):
            log = kube.pod_log(namespace, pods[0]["metadata"]["name"])
            try:
                return {"status": phase.lower(), **parse_all_reduce(log).summary()}
            except NcclParseError as err:
                return {"status": "error", "message": str(err)}
        sleep(poll)
    return {"status": "timeout", "message": f"the NCCL launcher did not finish within {timeout:.0f}s"}
