// The console's case pages, enhanced: every form works without this file.
// - live countdowns: each [data-due] says the time left and turns red under 10 minutes;
// - standard phrases (常用语) fill their text field in place instead of reloading;
// - photos are shrunk (≤ 1600 px, JPEG 0.8) before a resolution is sent.
(function () {
  "use strict";
  var URGENT = 10 * 60;

  function span(seconds, zh) {
    var s = Math.abs(seconds);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (zh) {
      if (d > 0) return h > 0 ? d + " 天 " + h + " 小时" : d + " 天";
      if (h > 0) return m > 0 ? h + " 小时 " + m + " 分" : h + " 小时";
      return m > 0 ? m + " 分钟" : "不到 1 分钟";
    }
    if (d > 0) return h > 0 ? d + " d " + h + " h" : d + " d";
    if (h > 0) return m > 0 ? h + " h " + m + " min" : h + " h";
    return m > 0 ? m + " min" : "under a minute";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = Math.round((due - now) / 1000);
      var over = left < 0;
      var zh = over ? "已超时 " + span(left, true) : "还剩 " + span(left, true);
      var en = over ? span(left, false) + " overdue" : span(left, false) + " left";
      el.textContent = zh + " ";
      var gloss = document.createElement("span");
      gloss.className = "gloss";
      gloss.textContent = en;
      el.appendChild(gloss);
      el.classList.toggle("urgent", left < URGENT);
      el.classList.toggle("overdue", over);
      var card = el.closest(".case-card, ul.deadlines li");
      if (card) card.classList.toggle("urgent", left < URGENT);
    });
  }

  function chips() {
    document.addEventListener("click", function (ev) {
      var chip = ev.target.closest && ev.target.closest("button.chip[data-fill]");
      if (!chip) return;
      var field = document.getElementById(chip.getAttribute("data-fill"));
      if (!field) return;
      ev.preventDefault();
      var text = chip.getAttribute("data-text") || "";
      field.value = field.value.trim() === "" ? text : field.value.replace(/\s+$/, "") + " " + text;
      field.focus();
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\//.test(file.type) || !window.createImageBitmap) return resolve(file);
      createImageBitmap(file).then(function (bitmap) {
        var max = 1600, w = bitmap.width, h = bitmap.height;
        var scale = Math.min(1, max / Math.max(w, h));
        if (scale === 1 && file.type === "image/jpeg" && file.size < 1024 * 1024) return resolve(file);
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(w * scale);
        canvas.height = Math.round(h * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) return resolve(file);
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", 0.8);
      }, function () { resolve(file); });
    });
  }

  function photos() {
    if (typeof DataTransfer === "undefined") return;
    document.querySelectorAll('input[type=file][name=photos]').forEach(function (input) {
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files || []);
        if (!files.length) return;
        var form = input.form;
        var submit = form && form.querySelector("button[type=submit].big");
        if (submit) submit.disabled = true;
        Promise.all(files.map(shrink)).then(function (small) {
          try {
            var dt = new DataTransfer();
            small.forEach(function (f) { dt.items.add(f); });
            input.files = dt.files;
          } catch (e) { /* keep the originals */ }
        }).finally(function () { if (submit) submit.disabled = false; });
      });
    });
  }

  function start() {
    tick();
    setInterval(tick, 15000);
    chips();
    photos();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
