// Behaviour shared by every page. Loaded with `defer` after htmx and Bootstrap; no inline scripts
// anywhere (CSP script-src 'self'), so page-specific hooks use data attributes read here.
(function () {
  "use strict";

  if (window.htmx) {
    // Also set through <meta name="htmx-config">; repeated so a page without the meta stays safe.
    htmx.config.allowEval = false;
    htmx.config.includeIndicatorStyles = false;
  }

  function showMessage(text, level) {
    var box = document.getElementById("messages");
    if (!box) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + (level || "danger") + " alert-dismissible fade show";
    alert.setAttribute("role", level === "danger" ? "alert" : "status");
    alert.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", box.dataset.dismissLabel || "Dismiss");
    alert.appendChild(close);
    box.appendChild(alert);
  }

  // A failed htmx request would otherwise do nothing visible.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var box = document.getElementById("messages");
    var text = status === 403 ? box && box.dataset.forbidden : box && box.dataset.failed;
    showMessage(text || "The request failed.", "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("messages");
    showMessage((box && box.dataset.offline) || "The server could not be reached.", "danger");
  });

  // <form data-confirm="Delete this company?">: ask before a destructive plain form post.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // "/" jumps to the global search, as in most web apps, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    var search = document.getElementById("global-search");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  });

  // <form data-reset-on-success>: clear an htmx form once its request succeeded (quick-add notes).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-reset-on-success") && event.detail.successful &&
        event.detail.xhr.status < 300) {
      form.reset();
    }
  });
})();
