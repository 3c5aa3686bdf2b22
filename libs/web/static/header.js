// Fills the header's unread-notices badge from the signed-in person's inbox and keeps
// it live over server-sent events (/api/v1/inbox/stream): a new notice updates the
// number at once and, for a new case, shows a link to it at the top of the page.
// Without script the link still leads to the notices, without a number.
(function () {
  var badge = document.getElementById("unread");
  if (!badge) return;
  function show(n) {
    if (n > 0) {
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = false;
      badge.parentNode.setAttribute("aria-label", "通知，" + n + "条未读 (Notices: " + n + " unread)");
    } else {
      badge.hidden = true;
      badge.parentNode.setAttribute("aria-label", "通知 (Notices)");
    }
  }
  function announce(notice) {
    if (!notice || !notice.case_id) return;
    var box = document.getElementById("live-notice");
    if (!box) {
      box = document.createElement("p");
      box.id = "live-notice";
      box.className = "ok live";
      box.setAttribute("role", "status");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = "";
    var a = document.createElement("a");
    a.href = "/console/cases/" + notice.case_id;
    a.textContent = notice.title + " — 点此查看 (open)";
    box.appendChild(a);
  }
  if (window.EventSource) {
    var source = new EventSource("/api/v1/inbox/stream");
    source.addEventListener("unread", function (e) {
      try { show(JSON.parse(e.data).unread); } catch (err) {}
    });
    source.addEventListener("notice", function (e) {
      try {
        var body = JSON.parse(e.data);
        show(body.unread);
        announce(body.notice);
      } catch (err) {}
    });
    // A refused stream (too many open, signed out) is not retried forever.
    source.onerror = function () {
      if (source.readyState === 2) source.close();
    };
    return;
  }
  if (!window.fetch) return;
  fetch("/api/v1/inbox", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (body) {
      if (!body || !body.notices) return;
      show(body.notices.filter(function (x) { return !x.read_at; }).length);
    })
    .catch(function () {});
})();
