"""The import rules of ../shared/DESIGN.md, checked with ast."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the file's package
                pkg = ".".join(path.relative_to(root).with_suffix("").parts[: -node.level])
                found.append((node.lineno, f"{pkg}.{node.module}" if node.module else pkg))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def violations(folder: str, allowed: callable, root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted((root / folder).rglob("*.py")):
        for line, name in imports_of(path, root):
            if not allowed(name):
                bad.append(f"{path.relative_to(root)}:{line} imports {name}")
    return bad


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    def ok(name: str) -> bool:
        top = name.split(".")[0]
        return top in STDLIB or name == "agent.domain" or name.startswith("agent.domain.") or top == "__future__"

    assert violations("agent/domain", ok) == []


def test_adapters_import_only_domain_ports_and_errors_of_the_agent() -> None:
    def ok(name: str) -> bool:
        if name == "agent" or name.startswith("agent."):
            return any(name == p or name.startswith(p + ".") for p in ("agent.domain", "agent.ports", "agent.errors"))
        return True

    assert violations("adapters", ok) == []


def test_only_bootstrap_and_cli_import_adapters() -> None:
    bad = []
    for path in sorted((ROOT / "agent").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "agent/bootstrap.py" or rel.startswith("agent/cli/") or rel == "agent/demo.py":
            continue
        bad += [f"{rel}:{line} imports {name}" for line, name in imports_of(path) if name.split(".")[0] == "adapters"]
    assert bad == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    pkg = tmp_path / "agent" / "domain"
    pkg.mkdir(parents=True)
    (pkg / "_probe_violation.py").write_text("import sqlalchemy\nfrom ..store import Store\nimport json\n")
    found = violations("agent/domain", lambda n: n.split(".")[0] in STDLIB or n.startswith("agent.domain"), tmp_path)
    assert found == [
        "agent/domain/_probe_violation.py:1 imports sqlalchemy",
        "agent/domain/_probe_violation.py:2 imports agent.store",
    ]
