"""Prove a stack's GPU pools on the live cluster: scale each out and in, and check what Karpenter did.

    python -m tools.verify STACK [--outputs FILE] [--pool NAME]... [--slices N] [--max-gpus N] [--yes] [--plan]
        [--kubeconfig FILE] [--context NAME] [--namespace NAME] [--workload vector-add|nvidia-smi] [--image IMAGE]
        [--ready-timeout 30m] [--scale-in-timeout D] [--poll 10s] [--report-dir DIR] [--nccl]

The stack outputs are the contract: `pulumi stack output --json --show-secrets --stack STACK`, or --outputs FILE
(e.g. a render's build/STACK/outputs.json for --plan). The kubeconfig comes from --kubeconfig/--context, else the
outputs' `kubeconfig`, else the current context. Per pool, one at a time: a Deployment in a dedicated namespace
requests one slice per pod with the pool's nodeSelector and tolerations, is scaled to N, and the run records
when pods run, which NodeClaims and nodes Karpenter launched and what each node advertises; then it scales to 0
and waits for Karpenter to remove the nodes. The namespace is deleted at exit, on Ctrl-C and on SIGTERM.

--plan prints what would happen and the node bounds per pool, and needs no cluster; it exits 2 when the run
would be refused.

Exit codes: 0 every check passed; 1 a check failed; 2 bad arguments or outputs, or the cost guard refused;
3 the cluster is not usable (no kubeconfig, unreachable, no access, CRDs missing, quota); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from tools.verify import kube as kubemod
from tools.verify import nccl, report
from tools.verify import workload as wl
from tools.verify.checks import parse_duration, reasons
from tools.verify.karpenter import karpenter_lines
from tools.verify.plan import (
    DEFAULT_NAMESPACE_PREFIX,
    ContractError,
    PoolPlan,
    describe_plan,
    plan_pool,
    pools_from_outputs,
    select_pools,
)
from tools.verify.progress import Progress
from tools.verify.run import PoolResult, Runner, Timing

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_CLUSTER, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
REPO_ROOT = Path(__file__).resolve().parents[2]


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    if seconds is None:
        raise argparse.ArgumentTypeError("a duration is needed here (30s, 10m, 1h)")
    return seconds


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.verify",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("stack", help="the Pulumi stack (dev, prod, ...)")
    p.add_argument(
        "--outputs", type=Path, help="stack outputs JSON (default: pulumi stack output --json --show-secrets)"
    )
    p.add_argument("--pool", action="append", dest="pools", metavar="NAME", help="verify only this pool (repeatable)")
    p.add_argument(
        "--slices",
        type=_positive,
        help="slices (pods) per pool; default: fill two of its cheapest nodes, within the pool's limit",
    )
    p.add_argument(
        "--max-gpus",
        type=_positive,
        help="cost guard: most physical GPUs a pool's run may launch (default: the pool's maxGpus, at most 8)",
    )
    p.add_argument("--yes", action="store_true", help="run even where the cost guard would refuse")
    p.add_argument(
        "--plan", action="store_true", help="print what would be done and the expected node bounds; no cluster needed"
    )
    p.add_argument("--kubeconfig", help="kubeconfig file instead of the outputs' kubeconfig")
    p.add_argument("--context", help="kubeconfig context to use")
    p.add_argument(
        "--namespace", help=f"namespace to create (default {DEFAULT_NAMESPACE_PREFIX}-<random>); must not exist"
    )
    p.add_argument("--workload", choices=sorted(wl.WORKLOADS), default="vector-add")
    p.add_argument("--image", help="override the workload's image")
    p.add_argument(
        "--ready-timeout",
        type=_duration,
        default=1800.0,
        metavar="DURATION",
        help="wait this long for all pods to run (default 30m)",
    )
    p.add_argument(
        "--scale-in-timeout",
        type=_duration,
        metavar="DURATION",
        help="wait this long for Karpenter to remove the nodes (default: consolidateAfter + 15m)",
    )
    p.add_argument("--poll", type=_duration, default=10.0, metavar="DURATION", help="poll interval (default 10s)")
    p.add_argument("--report-dir", type=Path, help="where report.md and report.json go (default build/verify/STACK)")
    p.add_argument("--nccl", action="store_true", help="also run the NCCL all-reduce example on EFA pools")
    return p


def load_outputs(stack: str, path: Path | None, run: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    if path is not None:
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ContractError(f"cannot read the outputs from {path}: {err}") from err
    command = ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise ContractError(
            "the pulumi CLI is not installed: pass --outputs FILE (for --plan, a render's build/STACK/outputs.json)"
        ) from err
    if done.returncode != 0:
        raise ContractError(f"`{' '.join(command)}` failed: {done.stderr.strip() or done.returncode}")
    return json.loads(done.stdout)


def _scale_in_text(plan: PoolPlan) -> str:
    disruption = plan.pool.disruption
    if disruption:
        return (
            f"wait for Karpenter to remove the nodes ({disruption.get('consolidationPolicy')} after "
            f"{disruption.get('consolidateAfter')}, from the outputs)"
        )
    return (
        "wait for Karpenter to remove the nodes (consolidation per NodePool "
        f"{plan.pool.name}'s spec.disruption, read at run time; timeout consolidateAfter + 15m)"
    )


def print_plan(
    stack: str,
    plans: list[PoolPlan],
    namespace: str,
    workload: str,
    image: str | None,
    out: TextIO,
    nccl_note: str | None,
    karpenter: tuple[dict[str, str], str | None] = ({}, None),
) -> None:
    print(
        f"Plan for stack {stack} (nothing is created with --plan); pools run one after another, namespace "
        f"{namespace} is deleted at exit",
        file=out,
    )
    for plan in plans:
        print("", file=out)
        for line in describe_plan(plan, namespace, wl.describe(workload, image), _scale_in_text(plan)):
            exact = karpenter[0].get(plan.pool.name)
            print(exact if exact and line.startswith("  nodes expected:") else line, file=out)
    if nccl_note:
        print("", file=out)
        print(nccl_note, file=out)
    if karpenter[1]:
        print("", file=out)
        print(karpenter[1], file=out)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job) takes the same cleanup path as Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def main(
    argv: list[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    api_client: Any = None,
    timing: Timing | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    run_command: Callable[..., Any] = subprocess.run,
) -> int:
    """The CLI. Tests pass `api_client` (pointing at a fake API server), `timing` and the clock."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        outputs = load_outputs(args.stack, args.outputs, run_command)
        pools = select_pools(pools_from_outputs(outputs), args.pools)
        if not pools:
            raise ContractError("the outputs list no GPU pools: nothing to verify")
        plans = [plan_pool(p, args.slices, args.max_gpus) for p in pools]
    except ContractError as error:
        print(f"error: {args.stack}: {error}", file=err)
        return EXIT_USAGE
    namespace = args.namespace or f"{DEFAULT_NAMESPACE_PREFIX}-{secrets.token_hex(3)}"
    efa_pools, example, nccl_note = nccl.availability(pools, REPO_ROOT) if args.nccl else ([], None, None)
    if args.plan:
        exact = karpenter_lines(args.stack, plans, REPO_ROOT)
        print_plan(args.stack, plans, namespace, args.workload, args.image, out, nccl_note, exact)
        refusals = [r for r in (p.refusal(args.yes) for p in plans) if r]
        for refusal in refusals:
            print(f"refused: {refusal}", file=out)
        return EXIT_USAGE if refusals else EXIT_PASS
    refusals = [r for r in (p.refusal(args.yes) for p in plans) if r]
    if refusals:
        for refusal in refusals:
            print(f"refused: {refusal}", file=err)
        return EXIT_USAGE

    timing = timing or Timing(poll=args.poll, ready_timeout=args.ready_timeout, scale_in_timeout=args.scale_in_timeout)
    progress = progress or Progress(err)
    try:
        if api_client is None:
            kubeconfig = (
                None if (args.kubeconfig or args.context) else kubemod.parse_kubeconfig(outputs.get("kubeconfig"))
            )
            api_client = kubemod.load_api_client(kubeconfig, args.kubeconfig, args.context)
        kube = kubemod.Kube(api_client)
        _check_endpoint(outputs, api_client)
        version = kube.server_version()
        kube.check_karpenter_crds()
        kube.check_access(namespace)
        if kube.namespace_exists(namespace):
            raise kubemod.KubeError(
                kubemod.API,
                f"namespace {namespace} already exists; pick another --namespace "
                f"(the run deletes its namespace at exit)",
            )
    except kubemod.KubeError as error:
        print(f"error: {args.stack}: {error}", file=err)
        return EXIT_CLUSTER
    except KeyboardInterrupt:
        print("\ninterrupted before anything was created", file=err)
        return EXIT_INTERRUPTED
    print(
        f"{args.stack}: cluster {api_client.configuration.host} (Kubernetes {version}); namespace {namespace}", file=err
    )

    runner = Runner(kube, namespace, timing, progress, args.workload, args.image, clock, sleep)
    results: list[PoolResult] = []
    code = EXIT_PASS
    previous = _install_sigterm()
    created = False
    try:
        created = True  # before the call: a Ctrl-C during it may still leave the namespace behind
        kube.create_namespace(namespace)
        for plan in plans:
            result = runner.run_pool(plan)
            if args.nccl and plan.pool in efa_pools and example is not None:
                result.nccl = nccl.run(
                    kube, plan.pool, example, namespace, timing.ready_timeout, timing.poll, clock, sleep
                )
            results.append(result)
        if nccl_note:
            print(nccl_note, file=err)
    except KeyboardInterrupt:
        if runner.current is not None:
            runner.current.obs.interrupted = True
            runner.current.reasons = reasons(runner.current.plan, runner.current.obs)
            results.append(runner.current)
        print(f"\ninterrupted: cleaning up namespace {namespace}", file=err)
        code = EXIT_INTERRUPTED
    except kubemod.KubeError as error:
        print(f"error: {args.stack}: {error}", file=err)
        code = EXIT_CLUSTER
    finally:
        _restore_sigterm(previous)
        if created:
            _cleanup(kube, namespace, timing, clock, sleep, err)

    if results:
        directory = args.report_dir or REPO_ROOT / "build" / "verify" / args.stack
        md_path, json_path = report.write(directory, args.stack, results, namespace)
        print(report.markdown(args.stack, results, namespace), file=out)
        print(f"report: {md_path} and {json_path}", file=err)
    if code == EXIT_PASS and any(r.verdict != "pass" for r in results):
        code = EXIT_FAIL
    return code


def _check_endpoint(outputs: dict[str, Any], api_client: Any) -> None:
    """Refuse to verify a different cluster than the outputs describe (a stale current context)."""
    expected = str(outputs.get("clusterEndpoint") or "").rstrip("/").lower()
    actual = str(api_client.configuration.host or "").rstrip("/").lower()
    if expected.startswith("https://") and actual and expected != actual:
        raise kubemod.KubeError(
            kubemod.API,
            (
                f"the kubeconfig points at {actual}, but the stack's clusterEndpoint is {expected}; select the "
                f"stack's cluster (aws eks update-kubeconfig) or pass --context"
            ),
        )


def _install_sigterm() -> Any:
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: no signal handling, Ctrl-C still works
        return None


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _cleanup(
    kube: kubemod.Kube,
    namespace: str,
    timing: Timing,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    err: TextIO,
) -> None:
    """Delete the namespace and wait (bounded) until it is gone; a second Ctrl-C leaves instructions."""
    try:
        kube.delete_namespace(namespace)
        start = clock()
        while kube.namespace_exists(namespace) and clock() - start < timing.cleanup_timeout:
            sleep(timing.poll)
        gone = not kube.namespace_exists(namespace)
        print(
            f"cleanup: namespace {namespace} {'deleted' if gone else 'is terminating'}; Karpenter removes the "
            f"empty nodes per each NodePool's consolidateAfter",
            file=err,
        )
    except KeyboardInterrupt:
        print(f"cleanup interrupted: run `kubectl delete namespace {namespace}`", file=err)
    except kubemod.KubeError as error:
        print(f"cleanup failed ({error}): run `kubectl delete namespace {namespace}`", file=err)


if __name__ == "__main__":
    sys.exit(main())
