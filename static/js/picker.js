// Record pickers (crm.pickers.RecordPicker): a combobox over a scoped search endpoint.
// As served, a picker is a number box with a link to a search page, which works without
// JavaScript. This file upgrades it: the number box becomes the hidden input that carries the
// chosen id, and the search box (role="combobox") takes over the field's id, so the field's
// <label> names it. htmx fetches the options; this file handles the keyboard and the choice:
// ArrowDown/ArrowUp move through the options, Enter chooses, Escape closes (a second Escape puts
// back the current choice), and a click chooses. Leaving the box with its text emptied clears it.
(function () {
  "use strict";

  function parts(root) {
    return {
      root: root,
      value: root.querySelector("[data-picker-value]"),
      input: root.querySelector("[data-picker-input]"),
      listbox: root.querySelector("[data-picker-listbox]"),
      status: root.querySelector("[data-picker-status]"),
    };
  }

  function options(p) {
    return Array.prototype.slice.call(p.listbox.querySelectorAll('[role="option"]'));
  }

  function isOpen(p) {
    return !p.listbox.hidden;
  }

  function setActive(p, index) {
    var items = options(p);
    items.forEach(function (item, i) {
      var active = i === index;
      item.classList.toggle("active", active);
      item.setAttribute("aria-selected", active ? "true" : "false");
    });
    if (index >= 0 && items[index]) {
      p.input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
      p.root.pickerActiveValue = items[index].getAttribute("data-value");
    } else {
      p.input.removeAttribute("aria-activedescendant");
      index = -1;
      p.root.pickerActiveValue = null;
    }
    p.root.pickerActive = index;
  }

  function open(p) {
    if (!options(p).length) return;
    p.listbox.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
  }

  function close(p) {
    p.listbox.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    setActive(p, -1);
  }

  function setValue(p, id, label) {
    var changed = p.value.value !== id;
    p.value.value = id;
    p.root.pickerLabel = label;
    p.input.value = label;
    p.root.pickerDirty = false;
    if (changed) p.value.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function choose(p, item) {
    p.root.pickerQuery = null;
    setValue(p, item.getAttribute("data-value"), item.textContent.trim());
    close(p);
    p.status.textContent = "";
    p.input.focus();
  }

  function upgrade(root) {
    if (root.pickerReady) return;
    var p = parts(root);
    if (!p.value || !p.input || !p.listbox) return;
    root.pickerReady = true;
    // The field's id (and so its <label>) moves to the search box; the number box becomes the
    // hidden input and loses what only made sense for a visible control.
    var hadFocus = document.activeElement === p.value;
    var fieldId = p.value.id;
    p.value.id = fieldId + "_value";
    p.input.required = p.value.required;
    ["required", "aria-describedby", "aria-invalid", "autofocus", "inputmode"].forEach(function (name) {
      p.value.removeAttribute(name);
    });
    p.value.type = "hidden";
    p.input.id = fieldId;
    var help = root.querySelector("[data-picker-nojs]");
    if (help) help.hidden = true;
    p.input.hidden = false;
    if (hadFocus) p.input.focus(); // an autofocus field keeps the focus on its visible box
    root.pickerLabel = p.input.value;
    root.pickerDirty = false;
    root.pickerActive = -1;

    p.input.addEventListener("input", function () {
      root.pickerDirty = true;
      if (!p.input.value.trim()) {
        close(p);
        p.status.textContent = "";
        root.pickerQuery = null;
      }
    });

    p.input.addEventListener("keydown", function (event) {
      var items = options(p);
      var active = root.pickerActive;
      switch (event.key) {
        case "ArrowDown":
          if (!items.length) return;
          event.preventDefault();
          if (!isOpen(p)) {
            open(p);
            setActive(p, event.altKey ? -1 : 0);
          } else {
            setActive(p, active + 1 < items.length ? active + 1 : 0);
          }
          break;
        case "ArrowUp":
          if (!items.length) return;
          event.preventDefault();
          if (!isOpen(p)) open(p);
          setActive(p, active > 0 ? active - 1 : items.length - 1);
          break;
        case "Enter":
          if (!isOpen(p)) return; // closed: Enter submits the form as usual
          event.preventDefault();
          if (active >= 0 && items[active]) choose(p, items[active]);
          else close(p);
          break;
        case "Escape":
          if (isOpen(p)) {
            event.preventDefault();
            event.stopPropagation(); // inside a dialog, close the list, not the dialog
            close(p);
          } else if (root.pickerDirty) {
            event.preventDefault();
            p.input.value = root.pickerLabel;
            root.pickerDirty = false;
            root.pickerQuery = null;
          }
          break;
        case "Tab":
          if (isOpen(p)) close(p);
          break;
      }
    });

    // Keep the focus in the search box while the pointer picks an option.
    p.listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    p.listbox.addEventListener("click", function (event) {
      var item = event.target.closest('[role="option"]');
      if (item && p.listbox.contains(item)) choose(p, item);
    });

    p.input.addEventListener("blur", function () {
      close(p);
      root.pickerQuery = null;
      if (!p.input.value.trim()) {
        setValue(p, "", "");
      } else if (root.pickerDirty) {
        // Typed but never chose: show the current choice again, so what is seen is what is sent.
        p.input.value = root.pickerLabel;
        root.pickerDirty = false;
      }
    });
  }

  function upgradeAll(scope) {
    var roots = scope.matches && scope.matches("[data-picker]") ? [scope] : [];
    roots = roots.concat(Array.prototype.slice.call(scope.querySelectorAll("[data-picker]")));
    roots.forEach(upgrade);
  }

  // htmx sends the typed text as `q`: the search box has no name, so it never goes with the form.
  // Nothing is asked for text the user did not type (a chosen name) or has just asked about.
  document.addEventListener("htmx:configRequest", function (event) {
    var input = event.detail.elt;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-picker-input")) return;
    var root = input.closest("[data-picker]");
    var query = input.value.trim();
    if (!root.pickerDirty || !query || query === root.pickerQuery) {
      event.preventDefault();
      return;
    }
    root.pickerQuery = query;
    event.detail.parameters["q"] = input.value;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var listbox = event.detail.target;
    if (!listbox || !listbox.hasAttribute || !listbox.hasAttribute("data-picker-listbox")) return;
    var p = parts(listbox.closest("[data-picker]"));
    var message = listbox.querySelector("template[data-picker-message]");
    var text = message ? message.content.textContent.trim() : "";
    var items = options(p);
    var keep = -1;
    items.forEach(function (item, i) {
      item.id = listbox.id + "-" + i;
      if (item.getAttribute("data-value") === p.root.pickerActiveValue) keep = i;
    });
    // A late answer after a choice, or for an emptied box, opens nothing.
    if (!p.root.pickerDirty || document.activeElement !== p.input || !p.input.value.trim()) {
      close(p);
      return;
    }
    p.status.textContent = text;
    if (items.length) {
      open(p);
      setActive(p, keep); // the option under the cursor stays there if it is still offered
    } else {
      close(p);
    }
  });

  if (window.htmx) htmx.onLoad(upgradeAll);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { upgradeAll(document); });
  } else {
    upgradeAll(document);
  }
})();
