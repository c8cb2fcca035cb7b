"""Render the program's Helm releases through the real upstream charts with a real Helm engine.

The engine is Helm's own Go SDK (PyPI `helm-python-sdk`, which binds `libhelm_c`); nothing here
re-implements templating. Charts come from `../shared/upstream/charts/<chart>` at the versions the
program pins. Its Python wrapper has no Kubernetes-version option, so `helm_render` is called natively
with `kube_version` (the option struct has it; SOURCE.txt of the charts shows it takes effect).

What Helm itself enforces here: template errors (`fail`, `required`, bad types) and values.schema.json of
the chart *and of every enabled subchart* (NFD's, under its alias; a disabled subchart is dropped before
validation, as on a real install). `helm_render` does not check Chart.yaml's `kubeVersion`, so
`render_chart` also runs a client-only dry-run install (`helm_install`, `dry_run: client`, the same
`kube_version`), which refuses an incompatible Kubernetes version exactly as `helm install` would. That
dry run is given a kubeconfig pointing nowhere, so it can never reach a real cluster.

Helm's own warnings while coalescing values ("skipped value for karpenter.logLevel: Not a table.": a value
whose type does not match the chart's default, dropped) go to the Go side's stderr; `render_chart` captures them into
`RenderedRelease.warnings`, so a test can fail on them like on a template error.

`render_release` adds the pin checks: the chart must have a source folder, and the pinned version must be
that folder's Chart.yaml version (a pin bump without a new chart source fails there, by name).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from preflight import yaml_cache
from preflight.upstream import upstream_dir

TEMPLATE_ANNOTATION = "gpu-eks.test/template"
HOOK_ANNOTATION = "helm.sh/hook"
# The dry-run install needs a Config; this one points at a closed local port, so nothing is ever contacted.
_OFFLINE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: offline, user: {}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


class ChartSourceError(Exception):
    """A release pins a chart we hold no source for, or a version other than the source's."""


class ReleaseRenderError(Exception):
    """Helm refused a release: template error, values-schema violation, or Kubernetes version constraint."""


def is_hook(obj: dict[str, Any]) -> bool:
    """Whether Helm treats the object as a hook (created around install/upgrade/test, not in the release)."""
    return HOOK_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {})


@dataclass(frozen=True)
class RenderedRelease:
    """What Helm renders for one release: every object, hooks included, by template path."""

    release: str
    chart: str
    version: str  # the chart source's Chart.yaml version
    namespace: str
    objects: list[dict[str, Any]]  # each with metadata.annotations["gpu-eks.test/template"] = its template path
    # CRDs Helm installs from crds/ of the chart and its enabled subcharts before the templates, annotated
    # like `objects` with their file (e.g. "gpu-operator/crds/nvidia.com_clusterpolicies.yaml"); empty when
    # the release sets skipCrds.
    crds: list[dict[str, Any]] = field(default_factory=list)
    skip_crds: bool = False
    kube_version: str = ""  # minor version rendered for, e.g. "1.34"
    values: dict[str, Any] = field(default_factory=dict)  # the user-supplied values
    subcharts: tuple[str, ...] = ()  # enabled subcharts, by the values key Helm hands them (alias, else name)
    api_versions: tuple[str, ...] = ()  # the extra API group/versions the render saw (CRDs installed before it)
    warnings: tuple[str, ...] = ()  # what Helm logged while rendering (coalescing warnings)

    @property
    def hooks(self) -> list[dict[str, Any]]:
        """Objects carrying a `helm.sh/hook` annotation."""
        return [o for o in self.objects if is_hook(o)]

    @property
    def manifest(self) -> list[dict[str, Any]]:
        """Objects that form the release itself (hooks excluded), as `helm install` records them."""
        return [o for o in self.objects if not is_hook(o)]

    def all_objects(self) -> list[dict[str, Any]]:
        """Everything Helm sends to the API server for an install: CRDs, templates and hooks."""
        return [*self.crds, *self.objects]


def chart_dir(chart: str) -> Path:
    """The upstream chart source for a chart name (e.g. "gpu-operator"), subcharts under its charts/."""
    return upstream_dir() / "charts" / chart


class _ManifestLoader(yaml.CSafeLoader):
    """YAML as the API server reads a manifest: an unquoted date stays a string (no timestamp type), and
    YAML 1.1's `=` value tag is the string "=" (PyYAML has no constructor for it). libyaml parses: the charts
    render megabytes of YAML, and the pure-Python parser made it most of preflight's time."""


_ManifestLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ManifestLoader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(cast(yaml.ScalarNode, node))
)


def _documents(text: str, source: str) -> list[dict[str, Any]]:
    objects = []
    for document in yaml_cache.load_all(text, _ManifestLoader):
        if isinstance(document, dict) and document:
            metadata = document.setdefault("metadata", {})
            # Some templates render `annotations:` with nothing under it (null), which the API server reads as none.
            metadata["annotations"] = {**(metadata.get("annotations") or {}), TEMPLATE_ANNOTATION: source}
            objects.append(document)
    return objects


def _processed(loaded: Any) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """CRDs from crds/ and the subcharts Helm kept, read from the chart *after* Helm rendered it.

    Rendering runs Helm's dependency processing on the loaded chart itself: disabled subcharts (conditions,
    tags) are removed and aliased ones renamed to their alias. So what is left is exactly what Helm decided,
    with no re-implementation here (test_helm_render checks that a disabled subchart leaves nothing behind).
    """
    subcharts = tuple(d["name"] for d in loaded.dependencies)
    crds: list[dict[str, Any]] = []
    for entry in loaded.crds:
        crds += _documents(entry["data"], entry["filename"])
    return crds, subcharts


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Collect what the native library writes to file descriptor 2 (Go's `log` goes there) meanwhile."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", errors="replace").splitlines():
                line = re.sub(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ", "", line).strip()
                if line:
                    lines.append(line)


_config = None


def _offline_config():
    global _config
    if _config is None:
        import helm_python as helm

        _config = helm.Config(kubeconfig_content=_OFFLINE_KUBECONFIG, storage_driver="memory")
    return _config


def missing_dependencies(chart_path: Path) -> dict[str, str]:
    """Dependency name -> its condition path, for each dependency Chart.yaml declares that charts/ does not hold.

    Helm itself does not object while rendering: a missing subchart just renders nothing, and templates of the
    parent that read its values may fail. (shared/upstream's kube-prometheus-stack lost its subcharts to the
    chart's own .gitignore, `charts/*`.)
    """
    metadata = yaml.safe_load((chart_path / "Chart.yaml").read_text())
    held = {entry.name for entry in (chart_path / "charts").iterdir()} if (chart_path / "charts").is_dir() else set()
    missing = {}
    for dependency in metadata.get("dependencies") or []:
        name = dependency["name"]
        if name not in held and not any(h.startswith(f"{name}-") and h.endswith(".tgz") for h in held):
            missing[name] = (dependency.get("condition") or "").split(",")[0].strip()
    return missing


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def enabled_missing_subcharts(chart_path: Path, values: dict[str, Any], defaults: dict[str, Any]) -> tuple[str, ...]:
    """The subcharts the values (or the chart's defaults) enable that the chart source lacks.

    Helm renders such a chart without a word, with the subchart's objects, values checks and pods simply absent,
    so a render that went on would leave them unchecked: the caller refuses it instead.
    """
    enabled = []
    for name, condition in sorted(missing_dependencies(chart_path).items()):
        wanted = True if not condition else _lookup(values, condition)
        if wanted is None:
            wanted = _lookup(defaults, condition)
        if wanted:
            enabled.append(name)
    return tuple(enabled)


_renders: dict[str, RenderedRelease] = {}


def render_chart(
    chart: str,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    skip_crds: bool = False,
    api_versions: tuple[str, ...] = (),
) -> RenderedRelease:
    """`helm template --kube-version` equivalent through the Go SDK: all templates, hooks included, plus the
    crds/ Helm installs (unless `skip_crds`). Raises ReleaseRenderError when Helm refuses the release.

    `api_versions` are group/versions the cluster serves beyond the built-in ones (the CRDs releases installed
    before this one add), which `.Capabilities.APIVersions.Has` in a template sees, as on a live install.
    """
    # Stacks and variants share releases with identical inputs (the monitoring stack, Karpenter's CRDs): render
    # each once per session. RenderedRelease is frozen; callers treat its objects as read-only.
    key = json.dumps([chart, values, release, namespace, kube_version, skip_crds, sorted(api_versions)], sort_keys=True)
    if key not in _renders:
        _renders[key] = _render_chart(chart, values, release, namespace, kube_version, skip_crds, api_versions)
    return _renders[key]


def _render_chart(
    chart: str,
    values: dict[str, Any],
    release: str,
    namespace: str,
    kube_version: str,
    skip_crds: bool,
    api_versions: tuple[str, ...],
) -> RenderedRelease:
    import helm_python as helm
    from helm_python import _native

    kube = f"v{kube_version}.0"
    options: dict[str, Any] = {"name": release, "namespace": namespace, "is_install": True, "kube_version": kube}
    install: dict[str, Any] = {
        "namespace": namespace,
        "dry_run": "client",
        "kube_version": kube,
        "skip_crds": skip_crds,
    }
    if api_versions:
        options["api_versions"] = install["api_versions"] = list(api_versions)
    with helm.Chart.load(str(chart_dir(chart))) as loaded, _native_stderr() as logged:
        missing = enabled_missing_subcharts(chart_dir(chart), values, loaded.values)
        if missing:
            raise ChartSourceError(
                f"release {release}: chart {chart} {loaded.version} enables subcharts {', '.join(missing)} that its "
                f"source {chart_dir(chart)} lacks; their objects would go unchecked: add them under its charts/"
            )
        render_values = values
        try:
            rendered = json.loads(
                _native.call_string("helm_render", loaded._raw(), json.dumps(render_values), json.dumps(options))
            )
            _native.call_string(
                "helm_install",
                _offline_config()._raw(),
                _native.HANDLE(0),
                loaded._raw(),
                None,
                release,
                json.dumps(render_values),
                json.dumps(install),
            )
        except helm.HelmError as error:
            raise ReleaseRenderError(
                f"release {release}: Helm refused chart {chart} {loaded.version} at Kubernetes "
                f"{kube_version}: {type(error).__name__}: {error}"
            ) from error
        crds, subcharts = _processed(loaded)
        version = loaded.version
    warnings = tuple(dict.fromkeys(logged))  # each native call coalesces the values again: one line per warning
    objects: list[dict[str, Any]] = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):  # printed after an install, never sent to the cluster
            continue
        objects += _documents(text, template)
    return RenderedRelease(
        release=release,
        chart=chart,
        version=version,
        namespace=namespace,
        objects=objects,
        crds=[] if skip_crds else crds,
        skip_crds=skip_crds,
        kube_version=kube_version,
        values=values,
        subcharts=subcharts,
        warnings=warnings,
        api_versions=tuple(api_versions),
    )


def check_pin(chart: str, version: str | None) -> Path:
    """The chart source folder for a pinned chart, after checking it exists and holds that exact version
    (OCI tags are exact; a repository would resolve "26.7.0" and "v26.7.0" alike, but the pins in
    components/versions.py spell the chart's own version)."""
    charts = upstream_dir() / "charts"
    folder = charts / chart
    if not (folder / "Chart.yaml").is_file():
        held = ", ".join(sorted(p.name for p in charts.iterdir() if (p / "Chart.yaml").is_file()))
        raise ChartSourceError(
            f"chart {chart!r} (pinned {version}) has no source folder {folder}; held: {held}. "
            "Add the chart source at the pinned version (see charts/SOURCE.txt)."
        )
    source = yaml.load(
        (folder / "Chart.yaml").read_text(), Loader=yaml.BaseLoader
    )  # scalars as written: 1.10 stays "1.10"
    if str(source.get("name")) != chart:
        raise ChartSourceError(f"{folder}/Chart.yaml names chart {source.get('name')!r}, not {chart!r}")
    if str(source.get("version")) != str(version):
        raise ChartSourceError(
            f"chart {chart} is pinned at {version} but the chart source {folder} is version "
            f"{source.get('version')}: add the chart source for {version} (or fix the pin)"
        )
    return folder


def render_release(pin: dict[str, Any], kube_version: str, api_versions: tuple[str, ...] = ()) -> RenderedRelease:
    """Render one release as `preflight.model.objects.helm_release_of` describes it, after the pin checks."""
    check_pin(pin["chart"], pin["version"])
    return render_chart(
        pin["chart"],
        pin["values"],
        release=pin["release"],
        namespace=pin["namespace"] or "default",
        kube_version=kube_version,
        skip_crds=bool(pin.get("skipCrds")),
        api_versions=api_versions,
    )


def release_pins(run: Any) -> list[dict[str, Any]]:
    """Every Helm release a harness run registered, as `preflight.model.objects.helm_release_of` describes it."""
    from preflight.model.objects import HELM_RELEASE, helm_release_of

    return [helm_release_of(r) for r in run.by_type(HELM_RELEASE)]


def served_api_versions(crds: list[dict[str, Any]]) -> set[str]:
    """The group/versions a set of CRDs serves (what `.Capabilities.APIVersions.Has` then finds)."""
    return {
        f"{crd['spec']['group']}/{version['name']}"
        for crd in crds
        for version in crd["spec"].get("versions") or []
        if version.get("served", True)
    }


def render_run(run: Any) -> dict[str, RenderedRelease]:
    """Every release of a harness run, rendered at the run's `kubernetesVersion` output, by release name.

    A release that depends (directly or through other resources) on another release is rendered after it and
    sees the API group/versions of that release's CRDs, as `helm install` would on the live cluster: Karpenter's
    chart renders its ServiceMonitor only when the monitoring release installed that CRD first.
    """
    from preflight.model.objects import HELM_RELEASE, helm_release_of

    kube_version = run.outputs["kubernetesVersion"]
    by_urn = {r.urn: r for r in run.resources}
    releases = {r.urn: r for r in run.by_type(HELM_RELEASE)}

    def upstream_releases(urn: str) -> set[str]:
        seen: set[str] = set()
        pending = list(by_urn[urn].dependencies)
        while pending:
            current = pending.pop()
            if current in seen or current not in by_urn:
                continue
            seen.add(current)
            pending += by_urn[current].dependencies
        return {u for u in seen if u in releases}

    rendered: dict[str, RenderedRelease] = {}
    done: dict[str, RenderedRelease] = {}

    def render(urn: str) -> RenderedRelease:
        if urn not in done:
            before = sorted(upstream_releases(urn))
            api: set[str] = set()
            for other in before:
                api |= served_api_versions(render(other).crds)
            pin = helm_release_of(releases[urn])
            done[urn] = render_release(pin, kube_version, tuple(sorted(api)))
        return done[urn]

    for urn in releases:
        result = render(urn)
        rendered[result.release] = result
    return rendered
