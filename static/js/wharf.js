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

  window.wharfToast = toast;
})();
