"""`flask --app wsgi operators create|list|reset-totp|unlock`: the console's operator accounts.

`create` is how the first 管理员 comes to exist; later ones are created in the console too.
It prints the TOTP enrolment secret and link once: nothing shows them again.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from models import Operator, db
from wxapp.console import auth
from wxapp.console.identity import ROLE_LABELS, Role
from wxapp.errors import AppError
from wxapp.extensions import app_now, secret_keys


@click.group("operators", cls=AppGroup, help="运营后台操作员：创建、查看、重置动态验证码、解锁")
def operators() -> None:
    pass


def _find(login: str) -> Operator:
    operator = db.session.execute(
        db.select(Operator).where(Operator.login == login.strip().lower())
    ).scalar_one_or_none()
    if operator is None:
        raise click.ClickException(f"没有登录名为 {login} 的操作员")
    return operator


@operators.command("create")
@click.option("--login", required=True, help="登录名（小写字母、数字、. _ -）")
@click.option("--name", "display_name", required=True, help="姓名")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="角色：support 客服，finance 财务，admin 管理员",
)
@click.password_option("--password", help="初始密码（至少 10 位，含字母和数字）")
def create_command(login: str, display_name: str, role: str, password: str) -> None:
    """创建一名操作员，并只显示一次动态验证码的绑定密钥。"""
    try:
        enrolment = auth.create_operator(
            login, display_name, role, password, secret_keys=secret_keys(), now=app_now()
        )
    except AppError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"已创建操作员 {login}（{display_name}，{ROLE_LABELS[Role(role)]}）。")
    click.echo("请在动态验证码应用中添加下面的密钥（只显示这一次；首次登录时页面也会显示二维码）：")
    click.echo(f"  密钥：{enrolment.secret}")
    click.echo(f"  链接：{enrolment.uri}")


@operators.command("list")
def list_command() -> None:
    """列出全部操作员。"""
    rows = db.session.execute(db.select(Operator).order_by(Operator.id)).scalars().all()
    if not rows:
        click.echo("还没有操作员：用 `flask --app wsgi operators create` 创建第一位管理员。")
    for op in rows:
        state = "启用" if op.active else "停用"
        enrolled = "已绑定动态验证码" if op.totp_enrolled_at else "未绑定动态验证码"
        click.echo(
            f"{op.login}\t{op.display_name}\t{ROLE_LABELS[Role(op.role)]}\t{state}\t{enrolled}"
        )


@operators.command("reset-totp")
@click.option("--login", required=True)
def reset_totp_command(login: str) -> None:
    """为丢失手机的操作员换一个动态验证码密钥（下次登录时重新扫码绑定）。"""
    auth.reset_second_factor(_find(login).id, secret_keys=secret_keys())
    click.echo(f"已重置 {login} 的动态验证码：下次登录输入密码后将显示新的二维码。")


@operators.command("unlock")
@click.option("--login", required=True)
def unlock_command(login: str) -> None:
    """解除操作员因连续输错而被锁定的状态。"""
    auth.set_active(_find(login).id, True, reason="命令行解锁")
    click.echo(f"已解锁 {login}。")


commands = [operators]
