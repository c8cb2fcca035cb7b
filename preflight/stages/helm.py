"""Stage 2, helm: every Helm release through the pinned chart source with Helm's own engine (preflight/helm/).

Fails on: a template or values-schema error, Helm's "skipped value" warnings, and values keys the chart (or the
subchart receiving them) never reads. A pin whose chart source is missing, or at another version, stops preflight
(exit 2): the check cannot run without the sources.
"""

from __future__ import annotations

from preflight.findings import Finding, StageResult
from preflight.helm.render import ChartSourceError, ReleaseRenderError, chart_dir, release_pins, render_run
from preflight.helm.values import chart_values, ignored_release_value_paths
from preflight.subject import CannotCheck, Subject
from preflight.upstream import UpstreamMissing

TITLE = "render every Helm release through its pinned chart"


def check(subject: Subject, result: StageResult) -> None:
    try:
        _check(subject, result)
    except (ChartSourceError, UpstreamMissing) as error:
        raise CannotCheck(f"{subject.stack}: {error}") from error


def _check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    try:
        releases = render_run(run)
    except ReleaseRenderError as error:
        # Helm stops at the first release it refuses; the later ones depend on it or are rendered next time.
        result.findings.append(Finding("", str(error)))
        return
    subject.releases = releases
    for pin in release_pins(run):
        release = releases[pin["release"]]
        result.findings += [Finding(f"release {release.release}", f"Helm warned: {w}") for w in release.warnings]
        ignored = ignored_release_value_paths(pin, chart_values(chart_dir(pin["chart"])), release.subcharts, ())
        result.findings += [
            Finding(f"release {release.release}", f"values key {path} is not read by chart {pin['chart']}")
            for path in ignored
        ]
    result.counts = {
        "releases": len(releases),
        "objects": sum(len(r.all_objects()) for r in releases.values()),
    }
