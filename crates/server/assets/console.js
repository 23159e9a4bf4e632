// qunzhu console: the few things plain HTML cannot do. Pages work without it.
(function () {
  "use strict";

  // Sidebar toggle on phones.
  var menu = document.querySelector("[data-menu]");
  if (menu) {
    menu.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      menu.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && document.body.classList.contains("nav-open")) {
        document.body.classList.remove("nav-open");
        menu.setAttribute("aria-expanded", "false");
        menu.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (document.body.classList.contains("nav-open") && !e.target.closest(".side") && !e.target.closest("[data-menu]")) {
        document.body.classList.remove("nav-open");
        menu.setAttribute("aria-expanded", "false");
      }
    });
  }

  // Live regions: fetch the fragment again every few seconds; a lost session reloads the page,
  // which sends the operator to sign in and back here.
  document.querySelectorAll("[data-live]").forEach(function (box) {
    var every = parseInt(box.getAttribute("data-every"), 10) || 10000;
    function refresh() {
      if (document.hidden) return;
      fetch(box.getAttribute("data-live"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) {
          if (r.redirected || !r.ok) { if (r.redirected) location.reload(); return null; }
          return r.text();
        })
        .then(function (html) { if (html !== null && html !== undefined) box.innerHTML = html; })
        .catch(function () {});
    }
    setInterval(refresh, every);
  });

  // Poster editor: the preview follows the template as it is typed (the same renderer draws it
  // on the server); problems replace the image until the text fits again.
  document.querySelectorAll("[data-poster-form]").forEach(function (form) {
    var area = form.querySelector("[data-poster-source]");
    var image = document.querySelector("[data-poster-preview]");
    var problems = document.querySelector("[data-poster-problems]");
    if (!area || !image || !problems) return;
    var timer = null;
    function redraw() {
      var body = new URLSearchParams(new FormData(form));
      fetch("/posters/preview.png", { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) {
          if (r.ok) return r.blob().then(function (blob) {
            var reader = new FileReader();
            reader.onload = function () { image.src = reader.result; image.hidden = false; problems.hidden = true; };
            reader.readAsDataURL(blob);
          });
          return r.text().then(function (text) { problems.textContent = text; problems.hidden = false; image.hidden = true; });
        })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(redraw, 500);
    });
  });

  // Poster background: the chosen file is read into the form's base64 field (the server takes
  // no multipart bodies); the server checks its size and kind and decodes it before keeping it.
  document.querySelectorAll("[data-background-form]").forEach(function (form) {
    var file = form.querySelector("[data-background-file]");
    var field = form.querySelector("[data-background-image]");
    if (!file || !field) return;
    file.addEventListener("change", function () {
      field.value = "";
      var chosen = file.files && file.files[0];
      if (!chosen) return;
      var reader = new FileReader();
      reader.onload = function () { field.value = reader.result; };
      reader.readAsDataURL(chosen);
    });
  });

  // TOML editor: line numbers follow the text and its scrolling; problems jump to their line.
  document.querySelectorAll("[data-source]").forEach(function (area) {
    var gutter = area.parentNode.querySelector("[data-gutter]");
    if (!gutter) return;
    var bad = (gutter.getAttribute("data-bad") || "").split(",").filter(Boolean).map(Number);
    function lines() {
      var count = Math.max(1, area.value.split("\n").length);
      if (gutter.childElementCount === count) return;
      var html = "";
      for (var i = 1; i <= count; i++) html += "<span" + (bad.indexOf(i) >= 0 ? ' class="bad"' : "") + ">" + i + "</span>";
      gutter.innerHTML = html;
    }
    area.addEventListener("input", lines);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    var form = area.closest("form");
    if (form) {
      form.querySelectorAll("[data-goto]").forEach(function (button) {
        button.addEventListener("click", function () {
          var line = parseInt(button.getAttribute("data-goto"), 10);
          if (!line) return;
          var parts = area.value.split("\n");
          var start = 0;
          for (var i = 0; i < line - 1 && i < parts.length; i++) start += parts[i].length + 1;
          area.focus();
          area.setSelectionRange(start, start + (parts[line - 1] || "").length);
          area.scrollTop = Math.max(0, (line - 4) * 20);
        });
      });
    }
    // Tab inserts two spaces instead of leaving the editor; Escape then Tab leaves it.
    var escaped = false;
    area.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { escaped = true; return; }
      if (e.key === "Tab" && !e.shiftKey && !escaped) {
        e.preventDefault();
        var s = area.selectionStart;
        area.setRangeText("  ", s, area.selectionEnd, "end");
        lines();
      }
      escaped = false;
    });
  });

  // Ask before destructive forms.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!confirm(form.getAttribute("data-confirm") + "?")) e.preventDefault();
    });
  });

  // Soft wrap on or off; line numbers show only when lines are not wrapped.
  document.querySelectorAll("[data-wrap]").forEach(function (toggle) {
    var editor = toggle.closest("form").querySelector(".editor");
    var area = editor && editor.querySelector("textarea");
    if (!area) return;
    toggle.addEventListener("change", function () {
      editor.classList.toggle("wrapping", toggle.checked);
      area.setAttribute("wrap", toggle.checked ? "soft" : "off");
    });
  });
  // Landing page editor: the preview follows the text as it is typed. The server draws it with
  // the public page's renderer (POST /landing/preview); problems replace the list beside it.
  document.querySelectorAll("[data-landing-editor]").forEach(function (editor) {
    var form = editor.querySelector("[data-landing-form]");
    var area = editor.querySelector("[data-landing-source]");
    var frame = editor.querySelector("[data-landing-preview]");
    var problems = editor.querySelector("[data-landing-problems]");
    if (!form || !area || !frame || !problems) return;
    var timer = null;
    var asked = 0;
    function refresh() {
      var mine = ++asked;
      fetch("/landing/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        body: new URLSearchParams(new FormData(form))
      })
        .then(function (r) { return r.text().then(function (text) { return { ok: r.ok, status: r.status, text: text }; }); })
        .then(function (answer) {
          if (mine !== asked) return;
          if (answer.ok) {
            frame.srcdoc = answer.text;
            problems.innerHTML = "";
          } else if (answer.status === 422) {
            var box = document.createElement("div");
            box.innerHTML = answer.text;
            var fresh = box.querySelector("[data-landing-problems]");
            problems.innerHTML = fresh ? fresh.innerHTML : "";
          }
          editor.setAttribute("data-previewed", String(mine));
        })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
  });
})();
