// The kanban board: SortableJS drag and drop between stage columns. A drop sets the card's stage
// menu and submits its form through htmx (the same endpoint the form uses without JavaScript);
// the answer refreshes every column's count and totals, or the card goes back with the reason.
(function () {
  "use strict";

  var board = document.querySelector("[data-board]");
  if (!board || !window.Sortable || !window.htmx) return;

  function showMessage(text, level) {
    var box = document.getElementById("messages");
    if (!box) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + level + " alert-dismissible fade show";
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

  function listFor(stage) {
    return board.querySelector('[data-stage-cards][data-stage="' + stage + '"]');
  }

  function putBack(card, keepChoice) {
    var origin = card._origin;
    card._origin = null;
    if (!origin) return;
    var before = origin.list.children[origin.index] || null;
    origin.list.insertBefore(card, before === card ? card.nextSibling : before);
    var select = card.querySelector("select[name=stage]");
    if (select && !keepChoice) select.value = origin.list.getAttribute("data-stage");
  }

  board.querySelectorAll("[data-stage-cards]").forEach(function (list) {
    Sortable.create(list, {
      group: "board",
      draggable: ".crm-card[data-movable]",
      filter: "select, button, input, summary, label",
      preventOnFilter: false,
      animation: 0,
      onEnd: function (event) {
        if (event.from === event.to) return;
        var card = event.item;
        var form = card.querySelector("form[data-move-form]");
        if (!form) return;
        card._origin = { list: event.from, index: event.oldIndex };
        form.querySelector("select[name=stage]").value = event.to.getAttribute("data-stage");
        card.classList.add("crm-card-busy");
        htmx.trigger(form, "submit");
      },
    });
  });

  // A refusal is explained by the answer itself; the page-wide "request failed" message would repeat it.
  board.addEventListener("htmx:responseError", function (event) {
    if (event.detail.elt && event.detail.elt.matches("form[data-move-form]")) event.stopPropagation();
  });

  board.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form[data-move-form]")) return;
    var card = form.closest(".crm-card");
    var xhr = event.detail.xhr;
    card.classList.remove("crm-card-busy");
    if (xhr && xhr.status >= 200 && xhr.status < 300) {
      // Moved from the card's menu rather than by dragging: put the card in its new column.
      var list = listFor(form.querySelector("select[name=stage]").value);
      if (list && card.parentElement !== list) list.insertBefore(card, list.firstChild);
      card._origin = null;
      var details = card.querySelector("details");
      if (details) details.open = false;
      return;
    }
    putBack(card, xhr && xhr.status === 400);
    var plain = xhr && /^text\/plain/.test(xhr.getResponseHeader("Content-Type") || "");
    showMessage(plain && xhr.responseText ? xhr.responseText : board.dataset.refused, "danger");
    // A lost stage needs a reason: open the card's menu at the reason.
    if (xhr && xhr.status === 400) {
      var details = card.querySelector("details");
      if (details) {
        details.open = true;
        var reason = card.querySelector("select[name=lost_reason]");
        if (reason) reason.focus();
      }
    }
  });
})();
