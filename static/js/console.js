// The operator console: behaviour Flask-Admin's templates wire with inline handlers, moved
// to this file so /admin keeps a strict Content-Security-Policy (the console rewrites
// those attributes into data-* ones when it loads the templates).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var confirmer = target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    var action = target.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) window.modelActions.execute(action.getAttribute("data-model-action"));
      return;
    }
    var inline = target.closest("[data-add-inline]");
    if (inline) {
      event.preventDefault();
      if (window.faForm) window.faForm.addInlineField(inline, inline.getAttribute("data-add-inline"));
      return;
    }
    var noop = target.closest("a[data-noop]");
    if (noop) event.preventDefault();
  });
})();
