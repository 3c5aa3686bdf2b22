// Fills the header's unread-notices badge from the signed-in person's inbox. Without
// script the link still leads to the notices, without a number.
(function () {
  var badge = document.getElementById("unread");
  if (!badge || !window.fetch) return;
  fetch("/api/v1/inbox", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (body) {
      if (!body || !body.notices) return;
      var n = body.notices.filter(function (x) { return !x.read_at; }).length;
      if (n > 0) {
        badge.textContent = n > 99 ? "99+" : String(n);
        badge.hidden = false;
        badge.parentNode.setAttribute("aria-label", "通知，" + n + "条未读 (Notices: " + n + " unread)");
      }
    })
    .catch(function () {});
})();
