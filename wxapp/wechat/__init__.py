"""The adapter to the official account (服务号)'s WeChat side; it knows no domain area.

- `xmlsafe`: refuses hostile XML before wechatpy (xmltodict) ever sees it.
- `client`: the shared `WeChatClient` (one access_token for every worker, via Redis).
- `callback`: signature checks, AES, retry dedupe for `/wechat`; what to answer is passed
  in (`wxapp.conversation.dispatch.respond`).
- `oauth`: 网页授权's single-use state, the authorize URL and the code exchange for an
  openid; what the openid means for a trainee is `wxapp.accounts.wechat_login`'s.
"""
