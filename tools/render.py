"""Offline renderer: run the real program for one stack under mocks and write what it would create.

    python -m tools.render STACK [--config FILE] [--out DIR] [--preview]

Prints the resource tree and a count, and writes DIR (default build/STACK):
  resources.json  every registered resource: type, name, parent, inputs (plus dependsOn and provider)
  outputs.json    the stack outputs
  manifests/      every Kubernetes object as YAML
  helm/           every Helm release: chart, repository, version, namespace, values
Secrets are "[secret]" everywhere. Output is deterministic, so diffing two renders is a review aid.
The tree and resources.json include the children the remote components (awsx.ec2.Vpc, eks.Cluster,
eks.ManagedNodeGroup) register in a real deployment, modelled from their source (preflight/model/children/).
--preview runs the program as a first `pulumi preview` does: IDs, ARNs and other computed outputs are unknown
and written as "[unknown]".
Invalid config: the error on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from preflight.model.harness import REPO_ROOT, Registration, StackRun, run_stack
from preflight.model.objects import HELM_RELEASE, helm_release_of, is_kubernetes_object, manifest_of

EXIT_CONFIG_ERROR = 2


def _detail(registration: Registration) -> str:
    """A short summary after a tree line for the resources a reviewer looks for."""
    inputs = registration.redacted_inputs()
    if registration.type == "eks:index:ManagedNodeGroup":
        taints = ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in inputs.get("taints", []))
        scaling = inputs.get("scalingConfig", {})
        return (
            f"instanceTypes={','.join(inputs.get('instanceTypes', []))} "
            f"size={scaling.get('minSize')}/{scaling.get('desiredSize')}/{scaling.get('maxSize')} taints=[{taints}]"
        )
    if registration.type == "eks:index:Cluster":
        return (
            f"name={inputs.get('name')} version={inputs.get('version')} "
            f"authenticationMode={inputs.get('authenticationMode')}"
        )
    if registration.type == HELM_RELEASE:
        release = helm_release_of(registration)
        return f"chart={release['chart']}@{release['version']}" + (" skipCrds" if release["skipCrds"] else "")
    if registration.type == "aws:kms/key:Key":
        return f"rotation={'on' if inputs.get('enableKeyRotation') else 'off'}"
    if registration.type == "aws:eks/addon:Addon":
        return f"addon={inputs.get('addonName')}"
    if is_kubernetes_object(registration) and "metadata" in inputs:
        return f"{inputs.get('kind', '')} {inputs['metadata'].get('name', '')}".strip()
    return ""


def resource_tree(run: StackRun) -> list[str]:
    """Lines of the resource tree, indented by parent, children sorted by type then name."""
    children: dict[str | None, list[Registration]] = {}
    known = {r.urn for r in run.resources}
    for registration in run.resources:
        parent = registration.parent_urn if registration.parent_urn in known else None
        children.setdefault(parent, []).append(registration)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for registration in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            detail = _detail(registration)
            lines.append(f"{'  ' * depth}{registration.type} {registration.name}" + (f"  ({detail})" if detail else ""))
            walk(registration.urn, depth + 1)

    walk(None, 0)
    return lines


def resources_document(run: StackRun) -> list[dict[str, Any]]:
    """resources.json content: one entry per resource, sorted by type and name."""
    names = {r.urn: r.name for r in run.resources}
    return [
        {
            "type": r.type,
            "name": r.name,
            "parent": names.get(r.parent_urn) if r.parent_urn else None,
            "inputs": r.redacted_inputs(),
            "dependsOn": sorted(names[d] for d in r.dependencies if d in names),
            "provider": run.name_of(r.provider_urn),
        }
        for r in sorted(run.resources, key=lambda r: (r.type, r.name))
    ]


def _dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


class _ReviewDumper(yaml.SafeDumper):
    """Multi-line strings (device-plugin configs inside Helm values) as `|` blocks, so diffs read line by line."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReviewDumper.add_representer(str, _represent_str)


def _dump_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.dump(data, Dumper=_ReviewDumper, sort_keys=True, default_flow_style=False))


def write_render(run: StackRun, out: Path) -> None:
    """Write resources.json, outputs.json, manifests/ and helm/ into `out` (replacing an older render)."""
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("manifests", "helm"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir()
    _dump_json(out / "resources.json", resources_document(run))
    _dump_json(out / "outputs.json", run.redacted_outputs())
    names = {r.urn: r.name for r in run.resources}
    for registration in run.resources:
        if registration.type == HELM_RELEASE:
            release = helm_release_of(registration)
            release["dependsOn"] = sorted(names[d] for d in registration.dependencies if d in names)
            _dump_yaml(out / "helm" / f"{release['release']}.yaml", release)
        elif is_kubernetes_object(registration):
            manifest = manifest_of(registration)
            object_name = (manifest.get("metadata") or {}).get("name", registration.name)
            _dump_yaml(out / "manifests" / f"{manifest['kind'].lower()}-{object_name}.yaml", manifest)


def render_notes(outputs: dict[str, Any]) -> list[str]:
    """One line per thing the config asked for that the stack narrows (today: a pool's types above maxGpus)."""
    notes = []
    for name, pool in sorted((outputs.get("gpuPools") or {}).items()):
        excluded = pool.get("excludedByMaxGpus") if isinstance(pool, dict) else None
        if excluded:
            listed = ", ".join(f"{t} ({gpus} GPUs)" for t, gpus in sorted(excluded.items()))
            notes.append(
                f"note: gpuNodePools {name}: maxGpus {pool['maxGpus']} leaves out {listed}; the pool launches only "
                f"types with at most {pool['maxGpus']} GPUs (gpuPools.{name}.excludedByMaxGpus)"
            )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name, e.g. dev (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--config", type=Path, help="a stack config file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output folder (default build/<stack>)")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="run as a first `pulumi preview`: computed outputs unknown, written as [unknown]",
    )
    args = parser.parse_args(argv)

    from components.common.parsing import ConfigError

    config_file = args.config or REPO_ROOT / f"Pulumi.{args.stack}.yaml"
    if not config_file.is_file():
        print(
            f"{args.stack}: no stack config file {config_file}; "
            "allowed: an existing Pulumi.<stack>.yaml or --config FILE",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    try:
        run = run_stack(args.stack, config_file, preview=args.preview)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except yaml.YAMLError as error:
        print(f"{args.stack}: {config_file.name} is not valid YAML: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR

    out = args.out or REPO_ROOT / "build" / args.stack
    write_render(run, out)
    for line in render_notes(run.outputs):
        print(line, file=sys.stderr)
    for line in resource_tree(run):
        print(line)
    children = sum(1 for r in run.resources if r.component_urn)
    mode = " (preview: computed values [unknown])" if args.preview else ""
    print(
        f"{len(run.resources)} resources in stack {args.stack}, region {run.outputs.get('region')} (aws:region; "
        f"{children} registered by remote components){mode}; written to {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
