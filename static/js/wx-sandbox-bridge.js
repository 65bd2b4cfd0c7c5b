/*
 * WeixinJSBridge stand-in for the built-in sandbox (WXAPP_SANDBOX=1): lets the H5 pages run
 * getBrandWCPayRequest in a desktop browser. It opens the sandbox cashier in an overlay;
 * the cashier checks paySign as the WeChat client would, and reports back the result as
 * {err_msg: "get_brand_wcpay_request:ok" | ":cancel" | ":fail"}.
 * Inside real WeChat the real bridge exists and this file does nothing.
 */
(function () {
  "use strict";
  if (window.WeixinJSBridge) { return; }
  var SANDBOX = "/_sandbox";

  function openCashier(params, callback) {
    var query = ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"]
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k] || ""); })
      .join("&");
    var overlay = document.createElement("div");
    overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.5);z-index:99999;" +
      "display:flex;align-items:center;justify-content:center";
    var frame = document.createElement("iframe");
    frame.src = SANDBOX + "/pay/cashier?embed=1&" + query;
    frame.title = "微信支付（沙箱）";
    frame.style.cssText = "width:min(440px,96vw);height:min(560px,90vh);border:0;border-radius:8px;background:#ededed";
    overlay.appendChild(frame);
    document.body.appendChild(overlay);

    var done = false;
    function finish(result) {
      if (done) { return; }
      done = true;
      window.removeEventListener("message", onMessage);
      overlay.remove();
      if (typeof callback === "function") {
        callback({ err_msg: "get_brand_wcpay_request:" + result });
      }
    }
    function onMessage(event) {
      if (event.source !== frame.contentWindow || !event.data || event.data.type !== "wx-sandbox-pay") { return; }
      finish(event.data.result === "ok" ? "ok" : "cancel");
    }
    window.addEventListener("message", onMessage);
    overlay.addEventListener("click", function (e) { if (e.target === overlay) { finish("cancel"); } });
  }

  window.WeixinJSBridge = {
    invoke: function (name, params, callback) {
      if (name === "getBrandWCPayRequest") { openCashier(params || {}, callback); return; }
      if (typeof callback === "function") { callback({ err_msg: name + ":fail_not_supported_in_sandbox" }); }
    },
    on: function () {},
    call: function () {}
  };
  function ready() { document.dispatchEvent(new Event("WeixinJSBridgeReady")); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    setTimeout(ready, 0);
  }
})();
