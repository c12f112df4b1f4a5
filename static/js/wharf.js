// Small glue between htmx events and the page: one modal shell, toasts, row refreshes.
// No inline handlers anywhere, so the page works under a strict Content-Security-Policy.
(function () {
  "use strict";

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast" + (level === "error" ? " error" : "");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  }

  function modal() { return document.getElementById("modal"); }

  // A fragment swapped into the modal body opens the dialog.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = modal();
    if (dialog && event.detail.target && event.detail.target.id === "modal-body" && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("[autofocus], input, button, select, textarea");
      if (first) first.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer) {
      event.preventDefault();
      var dialog = modal();
      if (dialog && dialog.open) dialog.close();
    }
    // Close open row menus when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
    }
  });

  // Server events sent with HX-Trigger.
  document.body.addEventListener("closeModal", function () {
    var dialog = modal();
    if (dialog && dialog.open) dialog.close();
  });
  document.body.addEventListener("showToast", function (event) {
    var detail = event.detail || {};
    toast(detail.message || detail.value, detail.level);
  });

  var dialog = modal();
  if (dialog) {
    dialog.addEventListener("close", function () {
      document.getElementById("modal-body").innerHTML = "";
    });
  }

  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        toast(button.getAttribute("data-copied") || "Copied");
      });
    }
  });

  // Bind/unbind dialog: the chips are the chosen workspaces (hidden inputs named "workspaces");
  // result checkboxes and the chips' x buttons keep them in step.
  function chipList(from) {
    var form = from.closest("form");
    return form ? form.querySelector("[data-chips]") : null;
  }

  function refreshEmptyState(list) {
    var empty = list.closest("form").querySelector("[data-chips-empty]");
    if (empty) empty.hidden = list.children.length > 0;
  }

  function addChip(list, id, name, unbindLabel) {
    if (list.querySelector('[data-chip="' + id + '"]')) return;
    var item = document.createElement("li");
    item.className = "chip";
    item.setAttribute("data-chip", id);
    var label = document.createElement("span");
    label.textContent = name;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "workspaces";
    input.value = id;
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("data-remove-chip", "");
    button.setAttribute("aria-label", unbindLabel || name);
    button.textContent = "\u00d7";
    item.append(label, input, button);
    list.appendChild(item);
  }

  document.addEventListener("change", function (event) {
    var box = event.target.closest("[data-bind-choice]");
    if (!box) return;
    var list = chipList(box);
    if (!list) return;
    if (box.checked) {
      addChip(list, box.value, box.getAttribute("data-name"), box.getAttribute("data-unbind-label"));
    } else {
      var chip = list.querySelector('[data-chip="' + box.value + '"]');
      if (chip) chip.remove();
    }
    refreshEmptyState(list);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-chip]");
    if (!button) return;
    var chip = button.closest("[data-chip]");
    var list = chip.parentElement;
    var form = chip.closest("form");
    var box = form.querySelector('[data-bind-choice][value="' + chip.getAttribute("data-chip") + '"]');
    if (box) box.checked = false;
    chip.remove();
    refreshEmptyState(list);
    var search = form.querySelector("input[type=search]");
    if (search) search.focus();
  });

  // Enter in a dialog's search box searches; it must not submit the dialog.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("#modal input[type=search]")) {
      event.preventDefault();
    }
  });

  window.wharfToast = toast;
})();
