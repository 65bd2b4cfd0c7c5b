"""`flask --app wsgi wechat menu push|show`: the official account's menu, from its definition."""

from __future__ import annotations

import json

import click
import requests
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from wxapp.conversation.menu import MENU


@click.group("wechat", help="公众号：菜单等")
def wechat_group() -> None:
    pass


@wechat_group.group("menu", help="自定义菜单")
def menu_group() -> None:
    pass


@menu_group.command("push", help="把菜单定义发送到微信（cgi-bin/menu/create）")
def push() -> None:
    client = current_app.extensions["wechat"]
    try:
        client.menu.create(MENU)
    except WeChatClientException as err:
        raise click.ClickException(f"菜单发布失败：{err.errcode} {err.errmsg}") from None
    except requests.RequestException as err:
        # The error's own text holds the URL with the access_token: only its kind.
        raise click.ClickException(f"无法连接 {client.api_base}：{type(err).__name__}") from None
    click.echo(f"菜单已发布到 {client.api_base}")


@menu_group.command("show", help="打印菜单定义（JSON）")
def show() -> None:
    click.echo(json.dumps(MENU, ensure_ascii=False, indent=2))


commands = [wechat_group]
