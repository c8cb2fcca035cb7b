"""The few Kubernetes API calls the verification makes, through the official `kubernetes` client, with clear errors.

Every read comes back as the object's wire form (a plain dict, camelCase keys), so the run loop and the checks
work on the same shapes `kubectl get -o json` prints. Every failure becomes a `KubeError` whose `kind` says what
to fix: no kubeconfig, unreachable API, credentials rejected, RBAC, Karpenter's CRDs missing, a quota.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

KARPENTER_GROUP = "karpenter.sh"
KARPENTER_VERSION = "v1"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gpu-eks-verify"}

# What the run does, for the up-front access review: (verb, group, resource, namespaced).
REQUIRED_ACCESS = (
    ("create", "", "namespaces", False),
    ("delete", "", "namespaces", False),
    ("create", "apps", "deployments", True),
    ("patch", "apps", "deployments/scale", True),
    ("list", "", "pods", True),
    ("list", "", "nodes", False),
    ("list", "", "events", False),
    ("list", KARPENTER_GROUP, "nodeclaims", False),
    ("get", KARPENTER_GROUP, "nodepools", False),
)


class KubeError(Exception):
    """A cluster problem the user must fix; `kind` is one of the KIND_* names below."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


NO_KUBECONFIG, UNREACHABLE, UNAUTHORIZED, FORBIDDEN, CRDS_MISSING, QUOTA, API = (
    "no-kubeconfig",
    "unreachable",
    "unauthorized",
    "forbidden",
    "crds-missing",
    "quota",
    "api",
)


def parse_kubeconfig(value: Any) -> dict[str, Any] | None:
    """The kubeconfig from the `kubeconfig` output: an object, a JSON or YAML string; None when absent or redacted."""
    if value is None or value == "" or value == "[secret]":
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = yaml.safe_load(value)
        if isinstance(parsed, dict) and "clusters" in parsed:
            return parsed
    raise KubeError(
        NO_KUBECONFIG,
        "the outputs' kubeconfig is not a kubeconfig (expected a map with clusters, "
        "users and contexts, or its JSON/YAML text)",
    )


def load_api_client(
    kubeconfig: dict[str, Any] | None = None, kubeconfig_file: str | None = None, context: str | None = None
) -> client.ApiClient:
    """An ApiClient for the given kubeconfig (from the outputs), else the file or current context."""
    try:
        if kubeconfig is not None:
            return config.new_client_from_config_dict(kubeconfig, context=context)
        return config.new_client_from_config(config_file=kubeconfig_file, context=context)
    except (ConfigException, FileNotFoundError) as err:
        where = kubeconfig_file or "the default kubeconfig (~/.kube/config or $KUBECONFIG)"
        raise KubeError(
            NO_KUBECONFIG,
            (
                f"no usable kubeconfig: the outputs carry none and {where} gave: {err}. Run `aws eks update-kubeconfig "
                f"--name <clusterName> --region <region>`, pass --kubeconfig FILE, or read the outputs with "
                f"--show-secrets"
            ),
        ) from err


def host_of(api_client: client.ApiClient) -> str:
    return api_client.configuration.host


class Kube:
    """Typed calls to the API server; results are wire-form dicts."""

    def __init__(self, api_client: client.ApiClient, request_timeout: float = 30.0):
        self.api_client = api_client
        self.timeout = request_timeout
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self.timeout, **kwargs)
        except ApiException as err:
            raise self._translate(what, err) from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise KubeError(
                UNREACHABLE,
                (
                    f"cannot reach the Kubernetes API at {host_of(self.api_client)} ({what}): {err}. Is this machine's "
                    f"IP in the stack's endpoint.publicAccessCidrs, or is the endpoint private?"
                ),
            ) from err
        except ConfigException as err:  # the exec plugin (aws eks get-token) failed
            raise KubeError(UNAUTHORIZED, f"could not get credentials for the cluster ({what}): {err}") from err

    def _translate(self, what: str, err: ApiException) -> KubeError:
        message = _status_message(err)
        if err.status == 401:
            return KubeError(
                UNAUTHORIZED,
                (
                    f"the API server rejected the credentials ({what}): {message}. The kubeconfig runs "
                    f"`aws eks get-token`: are the AWS credentials for an identity with an access entry?"
                ),
            )
        if err.status == 403 and "exceeded quota" in message:
            return KubeError(QUOTA, f"a Kubernetes ResourceQuota refused {what}: {message}")
        if err.status == 403:
            return KubeError(FORBIDDEN, f"no access: forbidden to {what}: {message}")
        return KubeError(API, f"{what} failed: HTTP {err.status} {message}")

    def _wire(self, obj: Any) -> Any:
        return self.api_client.sanitize_for_serialization(obj)

    # -- preflight ------------------------------------------------------------------------------------------------
    def server_version(self) -> str:
        info = self._wire(self._call("read the server version", client.VersionApi(self.api_client).get_code))
        return info.get("gitVersion", "?")

    def check_karpenter_crds(self) -> None:
        groups = self._wire(self._call("discover API groups", client.ApisApi(self.api_client).get_api_versions))
        versions = {
            v["version"]
            for g in groups.get("groups", [])
            if g["name"] == KARPENTER_GROUP
            for v in g.get("versions", [])
        }
        if KARPENTER_VERSION not in versions:
            raise KubeError(
                CRDS_MISSING,
                (
                    f"Karpenter's CRDs are missing: the API server serves no {KARPENTER_GROUP}/{KARPENTER_VERSION} "
                    f"(found {', '.join(sorted(versions)) or 'no version'}); is this the gpu-eks cluster, with the "
                    f"karpenter-crd release installed?"
                ),
            )
        resources = self._wire(
            self._call(
                f"discover {KARPENTER_GROUP}/{KARPENTER_VERSION}",
                self.custom.get_api_resources,
                KARPENTER_GROUP,
                KARPENTER_VERSION,
            )
        )
        names = {r["name"] for r in resources.get("resources", [])}
        missing = sorted({"nodeclaims", "nodepools"} - names)
        if missing:
            raise KubeError(
                CRDS_MISSING,
                f"Karpenter's CRDs are missing: {KARPENTER_GROUP}/{KARPENTER_VERSION} has no {', '.join(missing)}",
            )

    def check_access(self, namespace: str) -> None:
        """One SelfSubjectAccessReview per verb the run needs, so RBAC gaps show before anything is created."""
        api = client.AuthorizationV1Api(self.api_client)
        denied = []
        for verb, group, resource, namespaced in REQUIRED_ACCESS:
            plural, _, sub = resource.partition("/")
            attributes = {"verb": verb, "group": group, "resource": plural}
            if sub:
                attributes["subresource"] = sub
            if namespaced:
                attributes["namespace"] = namespace
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            }
            result = self._wire(self._call("review access", api.create_self_subject_access_review, review))
            if not (result.get("status") or {}).get("allowed"):
                denied.append(f"{verb} {resource}" + (f".{group}" if group else ""))
        if denied:
            raise KubeError(
                FORBIDDEN,
                (
                    f"no access: this identity may not {', '.join(denied)}; it needs them to run "
                    f"the smoke workload and watch Karpenter (a cluster admin has them)"
                ),
            )

    # -- namespace and workload -----------------------------------------------------------------------------------
    def create_namespace(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(MANAGED_BY)}}
        self._call(f"create namespace {name}", self.core.create_namespace, body)

    def delete_namespace(self, name: str) -> bool:
        """Delete it (foreground, so its pods go first); False when it was already gone."""
        try:
            self._call(
                f"delete namespace {name}", self.core.delete_namespace, name, body={"propagationPolicy": "Foreground"}
            )
        except KubeError as err:
            if "HTTP 404" in str(err):
                return False
            raise
        return True

    def namespace_exists(self, name: str) -> bool:
        try:
            self._call(f"read namespace {name}", self.core.read_namespace, name)
        except KubeError as err:
            if "HTTP 404" in str(err):
                return False
            raise
        return True

    def create_deployment(self, namespace: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        self._call(f"create deployment {namespace}/{name}", self.apps.create_namespaced_deployment, namespace, body)

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        self._call(
            f"scale deployment {namespace}/{name} to {replicas}",
            self.apps.patch_namespaced_deployment_scale,
            name,
            namespace,
            {"spec": {"replicas": replicas}},
        )

    def delete_deployment(self, namespace: str, name: str) -> None:
        self._call(f"delete deployment {namespace}/{name}", self.apps.delete_namespaced_deployment, name, namespace)

    # -- reads ----------------------------------------------------------------------------------------------------
    def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = self._call(
            f"list pods in {namespace}", self.core.list_namespaced_pod, namespace, label_selector=selector
        )
        return self._wire(result).get("items") or []

    def list_nodes(self, selector: str | None = None) -> list[dict[str, Any]]:
        result = self._call("list nodes", self.core.list_node, label_selector=selector)
        return self._wire(result).get("items") or []

    def list_nodeclaims(self, selector: str | None = None) -> list[dict[str, Any]]:
        try:
            result = self._call(
                "list nodeclaims",
                self.custom.list_cluster_custom_object,
                KARPENTER_GROUP,
                KARPENTER_VERSION,
                "nodeclaims",
                label_selector=selector,
            )
        except KubeError as err:
            if "HTTP 404" in str(err):
                raise KubeError(CRDS_MISSING, "Karpenter's NodeClaim CRD is missing (nodeclaims.karpenter.sh)") from err
            raise
        return result.get("items") or []

    def get_nodepool(self, name: str) -> dict[str, Any] | None:
        try:
            return self._call(
                f"read nodepool {name}",
                self.custom.get_cluster_custom_object,
                KARPENTER_GROUP,
                KARPENTER_VERSION,
                "nodepools",
                name,
            )
        except KubeError as err:
            if "HTTP 404" in str(err):
                return None
            raise

    def list_events(self, namespace: str | None = None, field_selector: str | None = None) -> list[dict[str, Any]]:
        if namespace is None:
            result = self._call("list events", self.core.list_event_for_all_namespaces, field_selector=field_selector)
        else:
            result = self._call(
                f"list events in {namespace}", self.core.list_namespaced_event, namespace, field_selector=field_selector
            )
        return self._wire(result).get("items") or []

    def pod_log(self, namespace: str, name: str) -> str:
        return self._call(f"read the log of {namespace}/{name}", self.core.read_namespaced_pod_log, name, namespace)

    def create_custom_object(self, body: dict[str, Any], namespace: str) -> None:
        group, _, version = body["apiVersion"].partition("/")
        plural = body["kind"].lower() + "s"
        self._call(
            f"create {body['kind']} {namespace}/{body['metadata']['name']}",
            self.custom.create_namespaced_custom_object,
            group,
            version,
            namespace,
            plural,
            body,
        )


def _status_message(err: ApiException) -> str:
    """The Status object's message when the server sent one, else the HTTP reason."""
    try:
        return json.loads(err.body or "").get("message") or str(err.reason)
    except (ValueError, AttributeError):
        return str(err.reason)
