"""CLI command groups, one module per area, each exposing `commands = [...]` (click commands).

What a command changes of who may see or do what, or of who someone is (a unit
administrator, a roster's accounts, a corrected name or ID number, the catalogue) is written
to the operators' audit log as the console's action is, in the same transaction, with no
operator and `cli_reason` naming the shell account that ran it.
"""

from __future__ import annotations

import getpass
import socket


def cli_reason() -> str:
    """命令行（user@host）: who ran the command, as the audit log's reason."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        user = "?"
    return f"命令行（{user}@{socket.gethostname()}）"[:200]
