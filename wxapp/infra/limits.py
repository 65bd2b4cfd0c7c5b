"""Every rate limit and request-body limit of the service, in one place.

Rate limits are counted in Redis (wxapp/infra/ratelimit.py), so they hold across gunicorn workers
and machines; past a limit the caller gets 429 with the Chinese message below and
`retry_after` (seconds) in the JSON body. Body limits are checked before the body is read (413,
`{"error": "too_large", "message": "请求内容过大"}`; the WeChat callback answers in plain
text); what was sent is then read and dropped, so a proxy gets that answer. docs/operations.md ("Limits") lists them for operators.

Applied in handlers with `limit_by_ip` / `limit_by_trainee` / `body_limit` from
handlers/guard.py.
"""

from __future__ import annotations

from wxapp.infra.ratelimit import Limit

KB = 1024

# --- rate limits ---

# Per address, FAILED logins only (a wrong password, an unknown username, a locked account),
# on top of the per-account lockout (5 failures / 15 min, wxapp/accounts/lockout.py): one
# address trying many usernames. Successful logins do not count here: a unit's staff behind
# one NAT address all logging in after its notice must not be turned away for being many.
LOGIN = Limit("login", 30, 60, "登录尝试过于频繁，请一分钟后再试")
# Per address, every login: what password hashing one address can cause (tens of ms of CPU
# each). A unit of 2,000 logging in within ten minutes stays under it.
LOGIN_ALL = Limit("login_all", 300, 60, "登录过于频繁，请一分钟后再试")
# Per username typed, every password check of login and 绑定微信 (trainees.verify_credentials):
# one account (the attacker's own, say) logged in again and again from many addresses costs a
# hash each time; a person logs in a few times a day. On a known device of the account it
# counts that device's own share (wxapp/accounts/devices.py), so a stranger spending it does
# not keep the owner out.
LOGIN_PER_USERNAME = Limit("login_user", 20, 60, "登录过于频繁，请一分钟后再试")
# 绑定微信 checks a password like login: the same budgets per address (failures, and every
# attempt), and a smaller one per WeChat user (the openid kept in the session), who cannot
# switch address to go around it.
BIND = Limit("bind", 30, 60, "绑定尝试过于频繁，请一分钟后再试")
BIND_ALL = Limit("bind_all", 300, 60, "绑定过于频繁，请一分钟后再试")
BIND_PER_WECHAT_USER = Limit("bind_openid", 10, 60, "绑定尝试过于频繁，请一分钟后再试")
# 自主注册: POST /api/register and its 获取验证码, one budget per phone number typed (a person
# needs a few tries), and a larger one per address, so a unit's colleagues registering
# together behind one NAT address go through. The SMS caps of wxapp/accounts/sms_limits.py
# (per phone, and SMS_IP_DAILY_CAP per address) bound the codes sent.
REGISTER = Limit("register", 20, 600, "注册尝试过于频繁，请十分钟后再试")
REGISTER_ADDRESS = Limit("register_addr", 400, 600, "注册尝试过于频繁，请十分钟后再试")
# 网页授权's start (GET /auth/wechat), per address: each one keeps a state in Redis for ten
# minutes. A unit's staff opening the menu together behind one NAT address stay well under
# it; a script cannot fill Redis with states.
OAUTH_START = Limit("oauth_start", 600, 60, "请求过于频繁，请稍后从公众号菜单重新进入")
# The register page's unit chooser (no session yet): searches as the trainee types.
REGISTER_UNITS = Limit("register_units", 60, 60, "查询过于频繁，请稍后再试")
# Activation of a roster account (its SMS code and the new password), per account, and
# 忘记密码 (its SMS code and the reset), per address; the SMS limits of wxapp/accounts/sms_limits.py (one send a
# minute and 10 a day per phone, 30 a day per address) and 5 tries per code come on top.
ACTIVATION = Limit("activation", 20, 600, "操作过于频繁，请十分钟后再试")
# Activation happens in a session of the roster account, so ACTIVATION counts per account;
# per address only this, so a unit's roster activating together on site behind one NAT
# address (two calls each) goes through. Its SMS are bounded by SMS_IP_DAILY_CAP as well.
ACTIVATION_ADDRESS = Limit("activation_addr", 400, 600, "操作过于频繁，请十分钟后再试")
FORGOT = Limit("forgot", 20, 600, "找回密码尝试过于频繁，请十分钟后再试")
# 忘记密码 counts FORGOT per username typed (as activation counts per account; on a known
# device of the account, that device's own share), and this per address.
FORGOT_ADDRESS = Limit("forgot_addr", 400, 600, "找回密码尝试过于频繁，请十分钟后再试")
# Per trainee. Creating an order opens a WeChat Pay prepay each time; a person buys a few
# plans a year, so 10 a minute only stops scripts and stuck buttons (POST /api/orders and
# /api/group-orders).
ORDER_CREATE = Limit("order_create", 10, 60, "下单过于频繁，请稍后再试")
# Per trainee, 立即支付 / 扫码支付 (each may open a prepay at WeChat Pay). A payer taps it once
# or twice an order; a group order's refusal names members who bought meanwhile, which a
# script asking again and again could follow.
ORDER_PAY = Limit("order_pay", 20, 60, "支付请求过于频繁，请稍后再试")
# Per trainee. 个人信息's unit and 档案所在区县: each change is kept in the history and shows
# in both units' reports (`movements`), so a script flipping units would fill both. A person
# corrects them a few times; 10 an hour stops the script.
PROFILE_CHANGE = Limit("profile_change", 10, 3600, "修改个人信息过于频繁，请一小时后再试")
# Per unit administrator, every 更正 of a colleague's name or ID number sent: a clerk fixes a
# few typos; each answer may say whether an ID number near a colleague's has an account.
UNIT_CORRECTION = Limit("unit_correction", 20, 3600, "更正操作过于频繁，请一小时后再试")
# Per trainee. The player sends one beacon every 15 s (4 a minute); two devices at once and
# retries after a network hiccup stay well under 30. Counted inside the beacon's own Lua
# script (wxapp/progress/beacon.lua), so the hot path pays no extra Redis round trip.
BEACON = Limit("beacon", 30, 60, "学习记录上报过于频繁，请稍后再试")

# --- request body limits (bytes; the app-wide MAX_CONTENT_LENGTH is 2 MiB) ---

# Login, bind, password change: two short strings in JSON.
CREDENTIALS_BODY = 4 * KB
# The player's beacon: a few numbers.
BEACON_BODY = 4 * KB
# The WeChat callback: a text message is at most 2048 characters; AES mode wraps it in
# base64 (4/3) inside an envelope. 64 KB leaves room for every event WeChat sends.
WECHAT_CALLBACK_BODY = 64 * KB
# What the app reads and drops of a body it answered without reading all of it (a 413, the
# console's sign-in page for an expired session): more than nginx lets through anywhere
# (6 MB on /admin), so behind nginx every refused body is read to its end
# (handlers/unread_body.py). A body told larger is not read at all.
UNREAD_BODY_DRAIN = 8 * KB * KB
