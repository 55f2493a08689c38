// hindsight: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The reader's zone (their setting; UTC by default) as an offset in minutes now.
  var zoneOffset = parseInt(document.body.getAttribute("data-zone-offset") || "0", 10);

  // The browser's local time beside page times when it differs from the reader's zone.
  var offset = -new Date().getTimezoneOffset();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var showLocal = function (el, d) {
    var local = document.createElement("span");
    local.className = "local";
    local.textContent = "(" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + " local)";
    el.title = d.toString();
    el.insertAdjacentElement("afterend", local);
  };
  // Timeline entries say only HH:MM under their day, in the reader's zone (a thousand full
  // timestamps were a tenth of a long page): the instant comes from the zone's rules.
  var wall = null;
  try {
    wall = new Intl.DateTimeFormat("en-US", {
      timeZone: document.body.getAttribute("data-zone") || "UTC", hourCycle: "h23",
      year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"
    });
  } catch (e) { /* an unknown zone name: entries get no local time */ }
  var zoneAhead = function (t) { // ms the reader's clock is ahead of UTC at instant t
    var p = {};
    wall.formatToParts(new Date(t)).forEach(function (x) { p[x.type] = x.value; });
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute) - t;
  };
  var instant = function (day, hhmm) { // the instant the reader's clock shows day, hhmm
    var d = day.split("-"), h = hhmm.split(":");
    var shown = Date.UTC(+d[0], +d[1] - 1, +d[2], +h[0], +h[1]);
    return new Date(shown - zoneAhead(shown - zoneAhead(shown)));
  };
  var localTimes = function (root) {
    if (offset === zoneOffset) return;
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.parentNode.className === "day") return;
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) showLocal(el, d);
    });
    if (!wall) return;
    var day = null;
    root.querySelectorAll(".timeline > li").forEach(function (li) {
      var first = li.firstElementChild;
      if (!first || first.tagName !== "TIME") return;
      if (li.className === "day") day = first.getAttribute("datetime");
      else if (day && !first.hasAttribute("datetime")) showLocal(first, instant(day, first.textContent));
    });
  };
  localTimes(document);

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

  // The time-zone picker offers the browser's own zone first (400 names are a long list).
  var zonePicker = document.getElementById("time-zone");
  if (zonePicker) {
    var browserZone = "";
    try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { /* none */ }
    var match = Array.prototype.find.call(zonePicker.options, function (o) { return o.value === browserZone; });
    if (match && browserZone !== zonePicker.getAttribute("data-current")) {
      var suggested = document.createElement("option");
      suggested.value = browserZone;
      suggested.textContent = browserZone + " (this browser's zone)";
      zonePicker.insertBefore(suggested, zonePicker.firstChild);
    }
  }

  // Forms that delete ask first (data-confirm says what happens).
  document.addEventListener("submit", function (e) {
    var ask = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) e.preventDefault();
  }, true);

  // Keeps a field's unsent text in this browser under `key` until the server confirms it
  // (`confirmed`: this page is the answer to a successful send), and restores it after a
  // sign-in or a reload when the field came back without it.
  var keepDraft = function (field, key, confirmed, restoredNote) {
    var store = null;
    try { store = window.localStorage; } catch (err) { return; /* private mode: no drafts */ }
    if (confirmed) {
      store.removeItem(key);
    } else if (store.getItem(key) !== null && store.getItem(key) !== field.value) {
      field.value = store.getItem(key);
      var note = document.createElement("p");
      note.className = "notice";
      note.setAttribute("role", "status");
      note.textContent = restoredNote;
      field.parentNode.insertAdjacentElement("afterend", note);
    }
    field.addEventListener("input", function () {
      store.setItem(key, field.value);
    });
  };
  // Postmortem sections too, per incident and section, until "Saved." comes back.
  document.querySelectorAll(".pm-form textarea[name]").forEach(function (t) {
    keepDraft(t, "hindsight:draft:" + window.location.pathname + ":" + t.name,
      /[?&]notice=saved\b/.test(window.location.search),
      "Restored what you wrote here and had not saved.");
  });

  var body = document.getElementById("qa-body");
  if (body) {
    // Nothing typed is lost: the unsent quick-add text is kept in this browser per
    // incident until the server confirms it (the page comes back at #eN, the new entry),
    // and restored after a sign-in or reload; the box itself never refills from history
    // (autocomplete off), so Back after adding does not invite a duplicate.
    keepDraft(body, "hindsight:draft:" + window.location.pathname,
      /^#e\d+$/.test(window.location.hash),
      "Restored your unsent text: check it and add it again.");
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

  // Live updates. A server-sent event stream says what changed: timeline changes are swapped
  // in place (the quick-add text and the reader's place untouched), other changes offer a
  // reload, and presence says who else has the incident open. Without EventSource, or
  // while the stream is down, the page polls the last-change stamp every 20 s instead.
  var incident = document.getElementById("incident");
  var banner = document.getElementById("live-banner");
  if (incident && banner && window.fetch) {
    var path = window.location.pathname;
    var seen = incident.getAttribute("data-updated");
    var streaming = false;
    var offerReload = function () {
      banner.hidden = false;
      banner.querySelector("a").href = path + "#timeline";
    };
    var poll = function () {
      if (document.hidden || streaming) return;
      fetch(path + "/stamp", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (stamp) {
          if (stamp && stamp !== seen) offerReload();
          // When the page last knew it was current (or not).
          incident.setAttribute("data-checked", new Date().toISOString());
        })
        .catch(function () {});
    };
    setInterval(poll, 20000);
    // Coming back to the tab checks at once rather than at the next tick.
    window.addEventListener("focus", poll);
    document.addEventListener("visibilitychange", poll);
    // The page says how it is kept current (data-live: streaming or polling).
    var live = function (on) {
      streaming = on;
      incident.setAttribute("data-live", on ? "streaming" : "polling");
    };
    live(false);

    var holder = document.getElementById("timeline-entries");
    var swapTimeline = function (html, count, updated) {
      // The first entry in view stays where it is on screen.
      var anchor = null, top = 0;
      var entries = holder.querySelectorAll("li[id]");
      for (var i = 0; i < entries.length; i++) {
        var r = entries[i].getBoundingClientRect();
        if (r.bottom > 0) { anchor = entries[i].id; top = r.top; break; }
      }
      var before = {};
      entries.forEach(function (li) { before[li.id] = true; });
      holder.innerHTML = html;
      holder.querySelectorAll("li[id]").forEach(function (li) {
        if (!before[li.id]) li.classList.add("arrived");
      });
      localTimes(holder);
      var counter = document.querySelector("#timeline-h .count");
      if (counter && count !== null) counter.textContent = count;
      if (updated) seen = updated;
      var now = anchor && document.getElementById(anchor);
      if (now) window.scrollBy(0, now.getBoundingClientRect().top - top);
    };
    var refreshing = null;
    var refresh = function () {
      if (refreshing) return;
      refreshing = setTimeout(function () {
        fetch(path + "/timeline", { credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            if (!r.ok) throw new Error(r.status);
            return r.text().then(function (html) {
              swapTimeline(html, r.headers.get("X-Timeline-Count"), r.headers.get("X-Updated"));
            });
          })
          .catch(offerReload)
          .then(function () { refreshing = null; });
      }, 100);
    };

    var presence = document.getElementById("presence");
    var me = incident.getAttribute("data-me");
    var showPresence = function (ev) {
      var names = [];
      JSON.parse(ev.data).viewers.forEach(function (v) {
        if (v.username !== me && names.indexOf(v.display_name) < 0) names.push(v.display_name);
      });
      presence.hidden = names.length === 0;
      presence.textContent = names.length ? "Also here: " + names.join(", ") : "";
    };

    var seq = incident.getAttribute("data-event-seq");
    var stream = null;
    if (window.EventSource && seq !== null) {
      stream = new EventSource(path + "/events?after=" + encodeURIComponent(seq));
      stream.onopen = function () { live(true); };
      stream.onerror = function () { live(false); };
      ["entry.added", "entry.edited", "entry.deleted"].forEach(function (k) {
        stream.addEventListener(k, refresh);
      });
      ["incident.updated", "escalation.updated", "task.updated", "task.deleted",
       "root_cause.updated", "root_cause.deleted"].forEach(function (k) {
        stream.addEventListener(k, offerReload);
      });
      if (presence) stream.addEventListener("presence", showPresence);
    }
  }

  // `/` focuses the header's search box on pages without a quick-add box (there it
  // focuses quick add, above).
  var navSearch = document.getElementById("nav-q");
  if (navSearch && !document.getElementById("quick-add")) {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (e.ctrlKey || e.metaKey || e.altKey || tag === "input" || tag === "textarea" || tag === "select") return;
      if (e.key === "/") {
        e.preventDefault();
        navSearch.focus();
      }
    });
  }

  // Evidence: paste or drop a file into a text box that takes attachments (or pick one);
  // it is uploaded, and its Markdown reference goes in at the cursor. Without this script
  // the API still takes files.
  var csrfField = document.querySelector("input[name=csrf_token]");
  var attach = function (box, file) {
    var status = document.querySelector("[data-attach-status='" + box.id + "']");
    var say = function (text) { if (status) status.textContent = text; };
    if (!csrfField) return;
    var form = new FormData();
    form.append("csrf_token", csrfField.value);
    form.append("file", file, file.name || "pasted.png");
    say("Uploading " + (file.name || "the image") + "…");
    fetch(box.getAttribute("data-attach"), { method: "POST", body: form, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (r) {
        if (!r.ok) { say((r.body.error && r.body.error.message) || "The upload failed."); return; }
        var at = box.selectionStart || box.value.length;
        var text = (at > 0 && box.value[at - 1] !== "\n" ? "\n" : "") + r.body.markdown + "\n";
        box.value = box.value.slice(0, at) + text + box.value.slice(at);
        box.dispatchEvent(new Event("input"));
        say("Attached " + r.body.name + ".");
      })
      .catch(function () { say("The upload failed; the text is kept."); });
  };
  document.querySelectorAll("textarea[data-attach]").forEach(function (box) {
    box.addEventListener("paste", function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        Array.prototype.forEach.call(files, function (f) { attach(box, f); });
      }
    });
    box.addEventListener("dragover", function (e) { e.preventDefault(); });
    box.addEventListener("drop", function (e) {
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) {
        e.preventDefault();
        Array.prototype.forEach.call(files, function (f) { attach(box, f); });
      }
    });
  });
  document.querySelectorAll("input[type=file][data-attach-to]").forEach(function (input) {
    input.addEventListener("change", function () {
      var box = document.getElementById(input.getAttribute("data-attach-to"));
      if (box) Array.prototype.forEach.call(input.files, function (f) { attach(box, f); });
      input.value = "";
    });
  });
})();
