// hindsight: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The reader's zone (their setting; UTC by default) as an offset in minutes now.
  var zoneOffset = parseInt(document.body.getAttribute("data-zone-offset") || "0", 10);

  // The browser's local time beside page times when it differs from the reader's zone.
  var offset = -new Date().getTimezoneOffset();
  if (offset !== zoneOffset) {
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      var local = document.createElement("span");
      local.className = "local";
      local.textContent = "(" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + " local)";
      el.title = d.toString();
      el.insertAdjacentElement("afterend", local);
    });
  }

  // Long fields: instead of the browser silently cutting pasted text at `maxlength`, say
  // how long it is and let the server's 422 (which names the field and limit) stand.
  document.querySelectorAll("input[maxlength], textarea[maxlength]").forEach(function (el) {
    var max = parseInt(el.getAttribute("maxlength"), 10);
    if (!(max >= 100)) return;
    el.removeAttribute("maxlength");
    var note = document.createElement("small");
    note.className = "over-limit";
    note.setAttribute("role", "status");
    note.hidden = true;
    el.insertAdjacentElement("afterend", note);
    var check = function () {
      var n = Array.from(el.value).length;
      note.hidden = n <= max;
      note.textContent = n + " characters: the limit is " + max + ".";
    };
    el.addEventListener("input", check);
    check();
  });

  // On a phone, list filters start folded (unless some are set): the rows come first.
  if (window.innerWidth <= 720 && !window.location.search) {
    document.querySelectorAll("details.filter-fold[open]").forEach(function (d) { d.open = false; });
  }

  var body = document.getElementById("qa-body");
  if (body) {
    // `n` or `/` focuses the quick-add box when not typing elsewhere.
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (e.ctrlKey || e.metaKey || e.altKey || tag === "input" || tag === "textarea" || tag === "select") return;
      if (e.key === "n" || e.key === "/") {
        e.preventDefault();
        body.focus();
      }
    });
    // Ctrl+Enter (or Cmd+Enter) submits.
    document.getElementById("quick-add").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.requestSubmit ? this.requestSubmit() : this.submit();
      }
    });
    // Show the current time in the reader's zone as the placeholder: "blank = now".
    var time = document.querySelector(".qa-time input");
    var tick = function () {
      var d = new Date(Date.now() + zoneOffset * 60000);
      var p = function (n) { return (n < 10 ? "0" : "") + n; };
      time.placeholder = "now (" + p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + ")";
    };
    if (time) { tick(); setInterval(tick, 15000); }
  }

  // Live updates: every 20 s, fetch the incident's last-change stamp (a few bytes); when
  // someone else logged something, offer a reload (never reload under the user's typing).
  var incident = document.getElementById("incident");
  var banner = document.getElementById("live-banner");
  if (incident && banner && window.fetch) {
    var seen = incident.getAttribute("data-updated");
    var poll = function () {
      if (document.hidden) return;
      fetch(window.location.pathname + "/stamp", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (stamp) {
          if (stamp && stamp !== seen) {
            banner.hidden = false;
            banner.querySelector("a").href = window.location.pathname + "#timeline";
          }
        })
        .catch(function () {});
    };
    setInterval(poll, 20000);
    // Lets the browser tests check now instead of in 20 s.
    window.hindsight = { poll: poll };
  }
})();
