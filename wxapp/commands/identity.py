"""`flask --app wsgi trainees correct ...`: customer service corrects an account's name or ID
number, with a reason and the operator's name kept in the change history.

The command joins the `trainees` group of wxapp/commands/trainees.py (it exports no group of
its own, so the registry adds nothing twice).
"""

from __future__ import annotations

import getpass

import click

from wxapp.accounts import identity_changes
from wxapp.commands import cli_reason
from wxapp.commands.trainees import trainees
from wxapp.console import audit
from wxapp.errors import AppError
from wxapp.extensions import app_now
from wxapp.infra.transaction import transaction


@trainees.command("correct")
@click.option("--account", "account", required=True, help="账号的手机号或当前身份证号码")
@click.option("--name", default=None, help="更正后的姓名")
@click.option("--id-number", "id_number", default=None, help="更正后的身份证号码")
@click.option("--reason", required=True, help="更正理由（记入历史，证书核验页可见）")
@click.option(
    "--operator",
    default=None,
    help="办理人（默认：运行命令的系统登录名）",
)
def correct_command(
    account: str, name: str | None, id_number: str | None, reason: str, operator: str | None
) -> None:
    """更正姓名或身份证号码（客服）：须填写理由；身份证号码变更时性别随之更新。"""
    try:
        with transaction():
            result = identity_changes.correct_by_operator(
                account.strip(),
                operator or getpass.getuser(),
                app_now(),
                name=name,
                id_number=id_number,
                reason=reason,
            )
            corrected = result["trainee"]
            audit.record(
                "trainee.correct_identity",
                "trainees",
                corrected["id"],
                None,
                {
                    "name": corrected["name"],
                    "id_number": corrected["id_number_masked"],
                    "changes": [c["field"] for c in result["changes"]],
                },
                f"{reason.strip()}；{cli_reason()}"[:500],
            )
    except AppError as err:
        raise click.ClickException(err.message) from None
    trainee = result["trainee"]
    for change in result["changes"]:
        label = {"name": "姓名", "id_number": "身份证号码"}[change["field"]]
        click.echo(f"{label}：{change['old']} → {change['new']}")
    click.echo(
        f"已更正学员 {trainee['id']}：{trainee['name']} {trainee['id_number_masked']}"
        f"（{trainee['gender']}）。请提醒学员在“我的证书”中点击“刷新证书”。"
    )


commands: list[click.Command] = []
