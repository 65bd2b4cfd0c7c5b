// Classic (non-module) guard loaded before each page's module: if the module cannot load
// or throws before drawing, the trainee sees a Chinese message instead of a blank page.
(function () {
  function fail() {
    var app = document.getElementById('app');
    if (!app || app.dataset.ready) return;
    app.innerHTML = '<div class="weui-msg" role="alert"><div class="weui-msg__icon-area"><i class="weui-icon-warn weui-icon_msg"></i></div>' +
      '<div class="weui-msg__text-area"><h2 class="weui-msg__title">页面加载失败</h2><p class="weui-msg__desc error-message">请检查网络后刷新重试</p></div>' +
      '<div class="weui-msg__opr-area"><p class="weui-btn-area"><a href="" class="weui-btn weui-btn_default">刷新</a></p></div></div>';
    app.dataset.ready = 'failed';
  }
  window.addEventListener('error', function (e) {
    // Resource errors (a module that failed to load) arrive in the capture phase.
    var t = e.target;
    if (t && t.tagName === 'SCRIPT') fail();
    else if (e.message) setTimeout(fail, 0);
  }, true);
  window.addEventListener('unhandledrejection', function () { setTimeout(fail, 0); });
  setTimeout(fail, 20000);
})();

// A page the browser restores from its back/forward cache shows what it drew for whoever
// was signed in then: after 退出登录 on a shared phone, Back would bring the last trainee's
// 个人信息 (or a clerk's staff list) back without asking the server. Hide it and load it
// afresh, which asks the server who is signed in now.
window.addEventListener('pageshow', function (e) {
  if (!e.persisted) return;
  document.documentElement.style.visibility = 'hidden';
  window.location.reload();
});
