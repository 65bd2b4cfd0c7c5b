"""The official account (服务号): callback messages and replies, the menu, 网页授权, the API client.

- `xmlsafe`: refuses hostile XML before wechatpy (xmltodict) ever sees it.
- `client`: the shared `WeChatClient` (one access_token for every worker, via Redis).
- `menu`: the menu as data and the fixed texts (help, welcome).
- `replies`: what each click or keyword answers (reads bindings, plans, 学时).
- `callback`: signature checks, AES, retry dedupe and dispatch for `/wechat`.
- `oauth`: 网页授权 state, code exchange, and binding an openid to a trainee.
"""

from wxapp.wechat.client import build_wechat_client

__all__ = ["build_wechat_client"]
