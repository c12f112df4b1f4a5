// Small glue between htmx events and the page: one modal shell, toasts, row refreshes.
// No inline handlers anywhere, so the page works under a strict Content-Security-Policy.
(function () {
  "use strict";

  // A modal dialog sits in the top layer, above any z-index: while one is open, the toasts move
  // into it so that they are not hidden behind its backdrop; they move back when it closes.
  function placeToasts() {
    var box = document.getElementById("toasts");
    var dialog = document.getElementById("modal");
    if (!box || !dialog) return;
    var home = dialog.open ? dialog : document.body;
    if (box.parentElement !== home) home.appendChild(box);
  }

  function toast(message, level) {
    placeToasts();
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

  // Where keyboard focus goes back to when the element that opened the dialog is replaced
  // while the dialog is open (the row it sat in is refreshed after OK): the id of its holder.
  var returnFocusTo = null;

  function focusFirstField(dialog) {
    var first = dialog.querySelector("[data-autofocus], [autofocus]") ||
      dialog.querySelector("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])");
    if (first) first.focus();
  }

  // The control that opened the dialog: keyboard focus goes back to it when the dialog closes.
  // A link inside a row's ⋮ menu is hidden once the menu closes, so its ⋮ stands in for it.
  var opener = null;

  function focusTargetFor(element) {
    if (!element || !element.isConnected) return null;
    var menu = element.closest("details.menu");
    if (menu) return menu.querySelector("summary");
    return element;
  }

  function closeMenus() {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
    });
  }

  // A fragment swapped into the modal body opens the dialog.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = modal();
    if (dialog && event.detail.target && event.detail.target.id === "modal-body" && !dialog.open) {
      var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
      var holder = elt && elt.closest ? elt.closest("[id]") : null;
      returnFocusTo = holder && holder.id !== "main" ? holder.id : null;
      opener = elt && elt.closest ? elt : null;
      closeMenus();
      // showModal() would focus an [autofocus] field at once, before htmx has wired up its
      // hx-trigger on settle, and what is typed then is lost: focus it on settle instead.
      event.detail.target.querySelectorAll("[autofocus]").forEach(function (field) {
        field.removeAttribute("autofocus");
        field.setAttribute("data-autofocus", "");
      });
      dialog.showModal();
      focusPending = true;
    }
  });

  // htmx wires up the new content when it settles, just after the swap: focus the first field
  // only then, so that typing right away already reaches its hx-trigger (e.g. a search box).
  var focusPending = false;
  document.addEventListener("htmx:afterSettle", function (event) {
    var dialog = modal();
    if (focusPending && dialog && dialog.open && event.detail.target && event.detail.target.id === "modal-body") {
      focusPending = false;
      focusFirstField(dialog);
    }
  });

  // After a refresh that removed the focused element (e.g. the row whose menu opened the
  // dialog), put focus on the same place in the new content rather than on <body>.
  document.addEventListener("htmx:afterSettle", function () {
    var dialog = modal();
    if (!returnFocusTo || (dialog && dialog.open)) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    var holder = document.getElementById(returnFocusTo);
    var target = holder && (holder.querySelector("summary") ||
      holder.querySelector("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled])"));
    if (target) {
      target.focus();
      returnFocusTo = null;
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

  // A row menu near the bottom of the window opens upwards instead of running off the page.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.menu") || !menu.open) return;
    menu.classList.remove("menu-up");
    var items = menu.querySelector(".menu-items");
    if (!items) return;
    var room = items.getBoundingClientRect();
    if (room.bottom > window.innerHeight && menu.getBoundingClientRect().top > room.height) {
      menu.classList.add("menu-up");
    }
  }, true);

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
      var body = document.getElementById("modal-body");
      if (body) body.replaceChildren();
      placeToasts();
      // Esc, Cancel, × or OK: back to where the user was, unless closing put the focus somewhere
      // on purpose (Choose Image focuses the image field). If the opener's row is refreshed
      // meanwhile, the afterSettle handler above finds the same place in the new row.
      var target = focusTargetFor(opener);
      opener = null;
      var active = document.activeElement;
      var adrift = !active || active === document.body || (dialog.contains(active));
      if (target && adrift) target.focus();
    });
  }

  // Every htmx request shows that it is working (the bar of #request-indicator, aria-busy on
  // what sent it; forms disable their OK with hx-disabled-elt) and every failure says so.
  function sender(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.closest ? (elt.closest("form") || elt) : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = sender(event);
    if (element) element.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var element = sender(event);
    if (element) element.removeAttribute("aria-busy");
  });

  function clientMessage(name) {
    var box = document.getElementById("toasts");
    return box ? box.getAttribute("data-" + name) : null;
  }

  // 4xx/5xx answers are not swapped (htmx-config in base.html). An answer that brings its own
  // toast (HX-Trigger showToast, e.g. a refused delete) has said what went wrong already.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var events = xhr && xhr.getResponseHeader("HX-Trigger");
    if (events && events.indexOf("showToast") !== -1) return;
    var status = xhr ? xhr.status : 0;
    var name = "error-server";
    if (status === 403) name = "error-forbidden";
    else if (status === 404) name = "error-not-found";
    else if (status === 401) name = "error-signed-out";
    else if (status === 429) name = "error-too-many";
    else if (status >= 400 && status < 500) name = "error-rejected";
    toast(clientMessage(name), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(clientMessage("error-network"), "error");
  });
  document.addEventListener("htmx:timeout", function () {
    toast(clientMessage("error-network"), "error");
  });

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
    var form = list.closest("form");
    var empty = form.querySelector("[data-chips-empty]");
    if (empty) empty.hidden = list.children.length > 0;
    var count = form.querySelector("[data-chip-count]");
    if (count) count.textContent = "(" + list.children.length + ")";
  }

  // "Load more" replaces itself with the next workspaces: focus the first of them.
  var loadedFrom = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var button = event.detail.elt;
    if (button && button.matches && button.matches("[data-load-more]")) {
      var results = button.closest("fieldset");
      loadedFrom = { results: results, count: results.querySelectorAll("[data-bind-choice]").length };
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (loadedFrom && !event.detail.successful) loadedFrom = null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!loadedFrom) return;
    var boxes = loadedFrom.results.querySelectorAll("[data-bind-choice]");
    var first = boxes[loadedFrom.count];
    loadedFrom = null;
    if (first) first.focus();
  });

  function addChip(list, id, name, unbindLabel, endsLabel) {
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
    // Optional end of the binding (registries.services.apply_dialog reads "expires-<id>").
    var ends = document.createElement("input");
    ends.type = "date";
    ends.name = "expires-" + id;
    ends.className = "chip-ends";
    if (list.getAttribute("data-ends-min")) ends.min = list.getAttribute("data-ends-min");
    ends.setAttribute("aria-label", endsLabel || name);
    ends.title = endsLabel || name;
    item.append(label, input, ends, button);
    list.appendChild(item);
  }

  document.addEventListener("change", function (event) {
    var box = event.target.closest("[data-bind-choice]");
    if (!box) return;
    var list = chipList(box);
    if (!list) return;
    if (box.checked) {
      addChip(list, box.value, box.getAttribute("data-name"), box.getAttribute("data-unbind-label"),
              box.getAttribute("data-ends-label"));
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

// Choose Image (Create by Image): a tag's Choose button writes its reference into the image
// field (#id_image) and closes the picker; with "Pin by digest" ticked, the digest reference.
// Without the form on the page (the picker opened as a page of its own) the link navigates to
// Create by Image with the image filled in.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-choose-image]");
    if (!choice) return;
    var scope = choice.closest("[data-picker]") || document;
    var pin = scope.querySelector("[data-pin-digest]");
    var pinned = pin && pin.checked && choice.getAttribute("data-choose-pinned");
    var field = document.getElementById("id_image");
    if (!field) {
      if (pinned && choice.getAttribute("data-pinned-href")) {
        event.preventDefault();
        window.location.assign(choice.getAttribute("data-pinned-href"));
      }
      return;
    }
    event.preventDefault();
    field.value = pinned || choice.getAttribute("data-choose-image");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
    var dialog = document.getElementById("modal");
    if (dialog && dialog.open) dialog.close();
    field.focus();
  });

  // Tabs (role=tablist): arrow keys, Home and End move between the tabs.
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest("[role=tab]");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    else if (event.key === " ") next = tab;
    if (!next) return;
    event.preventDefault();
    next.focus();
    next.click();
  });

  // After a tab switch inside the picker, keep the focus on the chosen tab.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "picker-results") return;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.getAttribute && trigger.getAttribute("role") === "tab") {
      var selected = document.querySelector('#picker-results [role=tab][aria-selected="true"]');
      if (selected) selected.focus();
    }
  });
})();

// Narrow screens: the side navigation folds behind the top bar's Menu button. The class "js"
// tells the stylesheet that the button works, so without JavaScript the navigation stays shown.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function toggleButton() { return document.querySelector("[data-nav-toggle]"); }

  function setOpen(button, open) {
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-nav-toggle]");
    if (button) {
      var open = button.getAttribute("aria-expanded") !== "true";
      setOpen(button, open);
      if (open) {
        var first = document.querySelector("#sidenav a");
        if (first) first.focus();
      }
    }
  });

  // A table wider than a phone scrolls inside its own box (wharf.css); keyboard users scroll it
  // with the arrow keys once it can take focus, which a table without links or buttons cannot.
  function focusableScrollBoxes() {
    document.querySelectorAll(".table").forEach(function (table) {
      var scrolls = table.scrollWidth > table.clientWidth + 1;
      var hasFocusable = table.querySelector("a[href], button, input, select, textarea, summary, [tabindex]");
      if (scrolls && !hasFocusable) table.setAttribute("tabindex", "0");
      else if (!scrolls && table.getAttribute("tabindex") === "0") table.removeAttribute("tabindex");
    });
  }
  document.addEventListener("DOMContentLoaded", focusableScrollBoxes);
  document.addEventListener("htmx:afterSettle", focusableScrollBoxes);
  window.addEventListener("resize", focusableScrollBoxes);

  // Escape closes the open navigation and puts focus back on its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var button = toggleButton();
    if (button && button.getAttribute("aria-expanded") === "true") {
      setOpen(button, false);
      button.focus();
    }
  });
})();
