"""No import cycles in components/, policies/ or tools/: the layers in README "Design" only import downwards.

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
