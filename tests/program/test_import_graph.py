"""No import cycles in components/, preflight/, policies/ or tools/: the layers in README "Design" only import
downwards, and the products never import the tests.

The graph comes from every module's syntax tree (function-level imports included, tests/support/import_graph.py),
so a cycle fails here naming its modules even when Python would only hit it at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.model.harness import REPO_ROOT
from tests.support.import_graph import assert_no_cycles, cycles, discover, import_graph


def project_modules() -> dict[str, Path]:
    """components, tools and the policy pack (imported as `gpu_eks_policies` with policies/ on sys.path), and the
    two entry points."""
    return {
        **discover(REPO_ROOT / "components", "components"),
        **discover(REPO_ROOT / "tools", "tools"),
        **discover(REPO_ROOT / "preflight", "preflight"),
        **discover(REPO_ROOT / "tests", "tests"),
        **discover(REPO_ROOT / "policies" / "gpu_eks_policies", "gpu_eks_policies"),
        "__main__": REPO_ROOT / "__main__.py",
        "policies.__main__": REPO_ROOT / "policies" / "__main__.py",
    }


def test_no_import_cycles():
    assert_no_cycles(import_graph(project_modules()))


def test_the_graph_sees_module_function_level_and_relative_imports():
    graph = import_graph(project_modules())
    assert "components.gpu.component" in graph["components.platform"]
    assert "components.versions" in graph["components.karpenter.chart"]  # `from components import versions`
    assert "components.common.parsing" in graph["tools.render"]  # imported inside main()
    assert "gpu_eks_policies.helpers" in graph["gpu_eks_policies.gpu"]  # `from .helpers import ...`
    assert "components.gpu.names" in graph["gpu_eks_policies.gpu"]


def test_domain_packages_import_only_downwards():
    """common <- network, cluster <- karpenter <- gpu <- observability <- config, platform: no domain imports a later
    one."""
    order = ["common", "network", "cluster", "karpenter", "gpu", "observability"]
    graph = import_graph(project_modules())
    for module, targets in graph.items():
        parts = module.split(".")
        if len(parts) < 3 or parts[0] != "components" or parts[1] not in order:
            continue
        for target in targets:
            target_parts = target.split(".")
            assert target_parts[0] == "components" and target_parts[1] not in ("config", "platform"), (module, target)
            if target_parts[1] in order:
                assert order.index(target_parts[1]) <= order.index(parts[1]), f"{module} imports {target}"
        if parts[1] == "common":
            assert all(t.split(".")[1] in ("common",) for t in targets), (module, targets)


# Which top-level project packages each may import. The program (components) and the policy pack stand alone;
# preflight checks the program (so imports components) and is a product itself (never tools/ or tests/); the user
# commands in tools/ may use preflight; only the tests import tests.
MAY_IMPORT = {
    "components": {"components"},
    "gpu_eks_policies": {"gpu_eks_policies", "components"},
    "policies": {"gpu_eks_policies"},
    "preflight": {"preflight", "components", "gpu_eks_policies"},  # the policy stage runs the pack's own code
    "tools": {"tools", "preflight", "components"},
    "__main__": {"components"},
    "tests": {"tests", "preflight", "components", "tools", "gpu_eks_policies", "policies", "__main__"},
}

# preflight's own layers, lowest first: a module imports only its own layer or lower ones. Stages (one module each,
# preflight/stages/) meet only through the Subject, never import each other, and only the runner imports them.
PREFLIGHT_LAYERS = (
    {"upstream", "findings", "stacks", "yaml_cache"},
    {"model"},  # the offline program: harness (mocks) and the remote components' children
    {"helm"},
    {"validate"},
    {"placement"},
    {"capacity", "policy", "karpenter"},
    {"subject"},
    {"stages"},
    {"runner"},
    {"report"},
    {"summary", "__main__"},
)


def preflight_layer(module: str) -> int:
    part = module.split(".")[1] if module.count(".") else ""
    layers = [i for i, names in enumerate(PREFLIGHT_LAYERS) if part in names]
    assert part == "" or layers, f"{module}: add preflight/{part} to PREFLIGHT_LAYERS in {__file__}"
    return layers[0] if layers else 0


def layering_problems(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        top = module.split(".")[0]
        for target in sorted(targets):
            if target.split(".")[0] not in MAY_IMPORT.get(top, {top}):
                problems.append(f"{module} imports {target}")
            elif top == target.split(".")[0] == "preflight" and "preflight" not in (module, target):
                if preflight_layer(target) > preflight_layer(module):
                    problems.append(f"{module} imports {target}, a higher preflight layer")
                elif module.startswith("preflight.stages.") and target.startswith("preflight.stages."):
                    problems.append(f"{module} imports {target}: stages meet only through the Subject")
    return problems


def test_each_package_imports_only_what_its_layer_may():
    assert layering_problems(import_graph(project_modules())) == []


def test_the_layering_rule_names_a_product_importing_the_tests_and_an_upward_import():
    graph = import_graph(project_modules())
    graph["preflight.helm.render"] = graph["preflight.helm.render"] | {"tests.support.stacks", "preflight.runner"}
    graph["components.platform"] = graph["components.platform"] | {"preflight.findings"}
    graph["preflight.stages.policy"] = graph["preflight.stages.policy"] | {"preflight.stages.render"}
    assert layering_problems(graph) == [
        "components.platform imports preflight.findings",
        "preflight.helm.render imports preflight.runner, a higher preflight layer",
        "preflight.helm.render imports tests.support.stacks",
        "preflight.stages.policy imports preflight.stages.render: stages meet only through the Subject",
    ]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_cycle_through_a_function_level_import_fails_naming_it(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "a.py", "from pkg import b\n")
    write(tmp_path / "pkg" / "b.py", "def later():\n    from pkg.c import value\n    return value\n")
    write(tmp_path / "pkg" / "c.py", "import json\nfrom . import a\nvalue = 1\n")
    write(tmp_path / "pkg" / "d.py", "import pkg.a\n")  # imports into the cycle, is not part of it
    graph = import_graph(discover(tmp_path / "pkg", "pkg"))
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}, "pkg.d": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    with pytest.raises(AssertionError, match=r"^import cycles: pkg\.a -> pkg\.b -> pkg\.c -> pkg\.a$"):
        assert_no_cycles(graph)


def test_a_module_importing_its_own_package_name_is_a_cycle_only_when_the_package_imports_it(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "from pkg.a import thing\n")
    write(tmp_path / "pkg" / "a.py", "import pkg\nthing = 1\n")
    assert cycles(import_graph(discover(tmp_path / "pkg", "pkg"))) == [["pkg", "pkg.a", "pkg"]]
    write(tmp_path / "pkg" / "__init__.py", '"""Docstring only."""\n')
    assert cycles(import_graph(discover(tmp_path / "pkg", "pkg"))) == []
