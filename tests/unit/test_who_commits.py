"""Who commits holds in the source: only `wxapp/infra/transaction.py` commits or rolls back.

A use case owns its transaction through `with transaction():` (or `end_read()` before an
HTTP call); helpers, handlers and models never call `db.session.commit()` or
`rollback()`. The scan reads the source (ast), so a commit cannot hide in a branch no test
takes.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("wxapp", "handlers", "models")
HOME = "wxapp/infra/transaction.py"  # transaction() and end_read(): the rule's one home

# The few calls allowed elsewhere, each with why; keep this list short.
ALLOWED: set[tuple[str, str]] = set()  # none: the health probe uses its own connection


def _commit_calls(path: Path) -> list[tuple[str, int, str]]:
    """(file, line, "commit"|"rollback") for each `<anything>.commit()`/`.rollback()` call:
    `db.session.commit()`, and a session or connection under another name as well."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        (str(path.relative_to(ROOT)), node.lineno, node.func.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


def _all_calls() -> list[tuple[str, int, str]]:
    return [
        call
        for package in SCANNED
        for path in sorted((ROOT / package).rglob("*.py"))
        for call in _commit_calls(path)
    ]


def test_only_the_transaction_module_commits_or_rolls_back():
    stray = [
        f"{file}:{line} calls {what}()"
        for file, line, what in _all_calls()
        if file != HOME and (file, what) not in ALLOWED
    ]
    assert stray == [], "use `with transaction():` or `end_read()` (wxapp/infra/transaction.py)"


def test_the_allowed_list_names_only_calls_that_exist():
    present = {(file, what) for file, _, what in _all_calls()}
    assert ALLOWED - present == set(), "stale entries in ALLOWED"


def test_the_scan_sees_a_commit():
    # Guard against a scan that silently finds nothing: the rule's home is found.
    assert {what for file, _, what in _all_calls() if file == HOME} == {"commit", "rollback"}


def test_handlers_and_models_do_not_open_transactions():
    # A use case (in wxapp) owns its transaction; handlers call one, models are written.
    users = [
        str(path.relative_to(ROOT))
        for package in ("handlers", "models")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "wxapp.infra.transaction" in path.read_text(encoding="utf-8")
    ]
    assert users == []
