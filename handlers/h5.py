"""The H5 pages trainees open inside WeChat: `/h5/<name>`.

Every page is the same small shell (WeUI, the boot script, a loading message) around its
own script `static/js/pages/<name>.js`, which calls the JSON API from the browser: one
template, `templates/h5/page.html`, rendered with the page's title. Any other name is a
404; `/` goes to the plan list.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template

bp = Blueprint("h5", __name__, template_folder="templates")

# name -> the title WeChat shows above the page
PAGES = {
    "login": "登录",
    "bind": "绑定账号",
    "register": "自主注册",
    "activate": "激活账号",
    "forgot": "忘记密码",
    "plans": "培训项目",
    "plan": "项目详情",
    "group": "团体购买",
    "course": "课程学习",
    "progress": "我的进度",
    "learning-record": "学习记录",
    "certificates": "我的证书",
    "orders": "我的订单",
    "order": "订单支付",
    "group-orders": "团购订单",
    "profile": "个人信息",
    "unit": "单位学时统计",
    "help": "帮助",
}


@bp.get("/")
def home():
    return redirect("/h5/plans")


@bp.get("/h5/<name>")
def page(name: str):
    title = PAGES.get(name)
    if title is None:
        abort(404)
    response = make_response(render_template("h5/page.html", title=title, name=name))
    # The shell is tiny and holds no one's data, but the page it becomes does: never kept,
    # so a deploy reaches phones at once and the browser's back/forward cache does not keep
    # a page drawn for whoever was signed in (static/js/boot.js reloads one it kept anyway).
    response.headers["Cache-Control"] = "no-store"
    return response
