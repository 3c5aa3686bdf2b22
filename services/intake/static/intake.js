/* The citizen's pages, improved: the form works without this file. With it, photos
   are shrunk before upload, a voice note can be recorded, the location added on
   request, the draft survives a reload, and a failed send keeps everything. */
(function () {
  'use strict';
  var d = document;
  function $(id) { return d.getElementById(id); }
  function show(el, on) { el.hidden = !on; }
  var en = d.documentElement.lang === 'en';

  // Server messages read "中文 (English)": keep the page's language.
  function pick(m) {
    var i = m.indexOf(' (');
    if (i < 0 || m.charAt(m.length - 1) !== ')') return m;
    return en ? m.slice(i + 2, -1) : m.slice(0, i);
  }

  function say(box, lead, items) {
    box.textContent = '';
    var p = d.createElement('p');
    p.textContent = lead;
    box.appendChild(p);
    if (items && items.length) {
      var ul = d.createElement('ul');
      items.forEach(function (t) {
        var li = d.createElement('li');
        li.textContent = t;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    show(box, true);
    box.scrollIntoView({ block: 'center' });
  }

  // What a refused request says, as a list of plain sentences.
  function problems(r) {
    return r.json().then(function (p) {
      var errors = p.errors || [];
      var list = errors.map(function (e) { return pick(e.message); });
      if (!list.length) list.push(pick(p.detail || p.title || ''));
      return { list: list, fields: errors.map(function (e) { return e.field; }) };
    }, function () { return { list: [], fields: [] }; });
  }

  function uuid() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  var form = $('report');
  if (form && window.fetch && window.FormData && window.crypto && crypto.getRandomValues) landing(form);
  var rate = $('rate');
  if (rate && window.fetch) rating(rate);
  var copy = $('copy');
  if (copy) share(copy);

  function landing(form) {
    var m = form.dataset;
    var token = m.token;
    var store = 'mashang-draft:' + token;
    // Kept on the device until the report is sent.
    var fields = ['description', 'lat', 'lng'];
    // The name and phone: a phone is often shared in a village, so these are kept only
    // for this tab (sessionStorage, gone when it closes), never on the device, and
    // forgotten as soon as the report is sent.
    var contact = ['contact_name', 'contact_phone'];
    var msg = $('msg');
    var send = $('send');
    var photos = [];
    var voice = null;
    var draft = {};

    // --- the draft: text fields and category, kept until the report is sent ---
    try {
      draft = JSON.parse(localStorage.getItem(store) || '{}') || {};
    } catch (e) { draft = {}; }
    if (draft.saved && Date.now() - draft.saved > 7 * 864e5) draft = {};
    if (contact.some(function (f) { return f in draft; })) {
      // Drafts of earlier versions kept the name and phone on the device: not any more.
      contact.forEach(function (f) { delete draft[f]; });
      try { localStorage.setItem(store, JSON.stringify(draft)); } catch (e) { /* private mode */ }
    }
    var held = {};
    try {
      held = JSON.parse(sessionStorage.getItem(store) || '{}') || {};
    } catch (e) { held = {}; }
    var restored = false;
    function restore(names, from) {
      names.forEach(function (f) {
        var el = form.elements[f];
        if (el && !el.value && from[f]) { el.value = from[f]; restored = true; }
      });
    }
    restore(fields, draft);
    restore(contact, held);
    if (draft.category && !form.querySelector('input[name=category]:checked')) {
      var radio = form.querySelector('input[name=category][value="' + String(draft.category).replace(/["\\]/g, '') + '"]');
      if (radio) { radio.checked = true; restored = true; }
    }
    if (restored) show($('restored'), true);

    function save() {
      var c = form.querySelector('input[name=category]:checked');
      draft.category = c ? c.value : '';
      fields.forEach(function (f) { draft[f] = form.elements[f].value; });
      draft.saved = Date.now();
      try { localStorage.setItem(store, JSON.stringify(draft)); } catch (e) { /* private mode: no draft */ }
      contact.forEach(function (f) { held[f] = form.elements[f].value; });
      try { sessionStorage.setItem(store, JSON.stringify(held)); } catch (e) { /* private mode: no draft */ }
    }
    // Sent: nothing of the report stays on the device, the name and phone least of all.
    function forget() {
      try { localStorage.removeItem(store); } catch (e) { /* nothing kept */ }
      try { sessionStorage.removeItem(store); } catch (e) { /* nothing kept */ }
      contact.forEach(function (f) { form.elements[f].value = ''; });
    }
    form.addEventListener('input', save);
    form.addEventListener('change', save);

    // --- photos: shrunk to ~1600 px JPEG in the browser, shown as thumbnails ---
    var input = $('photo');
    var thumbs = $('thumbs');
    input.addEventListener('change', function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = '';
      files.forEach(function (f) {
        if (photos.length >= 9) { say(msg, m.mMax); return; }
        var item = { file: f, blob: null, id: null };
        photos.push(item);
        item.ready = shrink(f).then(function (b) { item.blob = b; return b; });
        item.ready.then(function (b) { thumb(item, b); });
      });
    });

    function shrink(file) {
      return new Promise(function (done) {
        if (!/^image\//.test(file.type)) return done(file);
        var url = URL.createObjectURL(file);
        var img = new Image();
        img.onload = function () {
          var w = img.naturalWidth, h = img.naturalHeight;
          var s = Math.min(1, 1600 / Math.max(w, h));
          var c = d.createElement('canvas');
          c.width = Math.max(1, Math.round(w * s));
          c.height = Math.max(1, Math.round(h * s));
          var g = c.getContext('2d');
          g.fillStyle = '#fff';
          g.fillRect(0, 0, c.width, c.height);
          g.drawImage(img, 0, 0, c.width, c.height);
          URL.revokeObjectURL(url);
          c.toBlob(function (b) { done(b && (b.size < file.size || s < 1) ? b : file); }, 'image/jpeg', 0.8);
        };
        // A format the browser cannot draw (HEIC): sent as it is; the server reads it.
        img.onerror = function () { URL.revokeObjectURL(url); done(file); };
        img.src = url;
      });
    }

    function thumb(item, blob) {
      if (photos.indexOf(item) < 0) return;
      var li = d.createElement('li');
      var img = d.createElement('img');
      img.alt = '';
      img.src = URL.createObjectURL(blob);
      var x = d.createElement('button');
      x.type = 'button';
      x.textContent = '×';
      x.setAttribute('aria-label', m.mRemove);
      x.addEventListener('click', function () {
        photos.splice(photos.indexOf(item), 1);
        URL.revokeObjectURL(img.src);
        thumbs.removeChild(li);
        input.focus();
      });
      li.appendChild(img);
      li.appendChild(x);
      thumbs.appendChild(li);
    }

    // --- a voice note, where the browser can record ---
    var rec = $('rec');
    // Elsewhere (older iPhones) the phone's own recorder, through a file input.
    var voiceIn = $('voice-in');
    if (window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      show($('voice-file'), false);
      voiceIn = null;
      show($('voice'), true);
      var recorder = null, started = 0, tick = null;
      var label = rec.querySelector('span');
      var state = $('rec-state');
      var audio = $('rec-audio');
      var types = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/ogg;codecs=opus'];
      var type = types.filter(function (t) { return MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(t); })[0] || '';
      var stop = function () { if (recorder && recorder.state === 'recording') recorder.stop(); };
      rec.addEventListener('click', function () {
        if (recorder && recorder.state === 'recording') return stop();
        navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
          var chunks = [];
          recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
          recorder.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
          recorder.onstop = function () {
            clearInterval(tick);
            stream.getTracks().forEach(function (t) { t.stop(); });
            rec.classList.remove('on');
            label.textContent = rec.dataset.start;
            state.textContent = '';
            var t = (recorder.mimeType || type || 'audio/webm').split(';')[0];
            var blob = new Blob(chunks, { type: t });
            if (!blob.size) return;
            if (audio.src) URL.revokeObjectURL(audio.src);
            audio.src = URL.createObjectURL(blob);
            voice = { blob: blob, id: null, ext: t.indexOf('mp4') >= 0 ? 'm4a' : t.indexOf('ogg') >= 0 ? 'ogg' : 'webm' };
            show($('rec-done'), true);
          };
          recorder.start();
          started = Date.now();
          rec.classList.add('on');
          label.textContent = rec.dataset.stop;
          tick = setInterval(function () {
            var s = Math.round((Date.now() - started) / 1000);
            state.textContent = rec.dataset.busy + ' ' + Math.floor(s / 60) + ':' + ('0' + (s % 60)).slice(-2);
            if (s >= 180) stop();
          }, 500);
        }, function () { state.textContent = rec.dataset.nomic; });
      });
      $('rec-del').addEventListener('click', function () {
        voice = null;
        URL.revokeObjectURL(audio.src);
        audio.removeAttribute('src');
        show($('rec-done'), false);
        rec.focus();
      });
    }

    // --- the location, only when the citizen asks for it ---
    var locate = $('locate');
    if (navigator.geolocation) {
      show($('where'), true);
      var lat = form.elements.lat, lng = form.elements.lng, loc = $('loc-state');
      var has = function () { return lat.value && lng.value; };
      var paint = function () {
        locate.querySelector('span').textContent = has() ? locate.dataset.clear : locate.dataset.add;
        loc.textContent = has() ? locate.dataset.got : '';
      };
      paint();
      locate.addEventListener('click', function () {
        if (has()) { lat.value = lng.value = ''; paint(); save(); return; }
        loc.textContent = locate.dataset.wait;
        navigator.geolocation.getCurrentPosition(function (p) {
          lat.value = p.coords.latitude.toFixed(6);
          lng.value = p.coords.longitude.toFixed(6);
          paint();
          save();
        }, function () { loc.textContent = locate.dataset.fail; }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
      });
    }

    // --- sending: files first, then the report, with one idempotency key per draft ---
    function upload(item, name) {
      if (item.id) return Promise.resolve(item.id);
      var body = new FormData();
      body.append('qr_token', token);
      body.append('file', item.blob, name);
      return fetch('/api/v1/attachments', { method: 'POST', body: body, headers: { Accept: 'application/json' } })
        .then(function (r) {
          if (r.status === 201) return r.json().then(function (a) { item.id = a.id; return a.id; });
          throw r;
        });
    }

    var busy = false;
    var label0 = send.textContent;
    function idle() { busy = false; send.disabled = false; send.textContent = label0; }

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (busy) return;
      show(msg, false);
      var cat = form.querySelector('input[name=category]:checked');
      var text = form.elements.description.value.trim();
      if (!cat) return say(msg, m.mCat);
      if (voiceIn && voiceIn.files && voiceIn.files[0]) {
        var f = voiceIn.files[0];
        if (!voice || voice.file !== f) voice = { file: f, blob: f, id: null, ext: '' };
      } else if (voiceIn) voice = null;
      if (!text && !photos.length && !voice) { say(msg, m.mNeed); form.elements.description.focus(); return; }
      busy = true;
      send.disabled = true;
      go(cat.value, text, false);
    });

    function go(category, text, rekeyed) {
      send.textContent = photos.length || voice ? m.mUpload : m.mSending;
      if (!draft.key) { draft.key = uuid(); save(); }
      var ids = [];
      var chain = Promise.resolve();
      photos.forEach(function (p, i) {
        chain = chain.then(function () { return p.ready; })
          .then(function () { return upload(p, p.blob === p.file ? p.file.name : 'photo-' + (i + 1) + '.jpg'); })
          .then(function (id) { ids.push(id); });
      });
      if (voice) {
        chain = chain.then(function () { return upload(voice, voice.file ? voice.file.name : 'voice.' + voice.ext); })
          .then(function (id) { ids.push(id); });
      }
      var phone = form.elements.contact_phone.value.trim();
      chain.then(function () {
        send.textContent = m.mSending;
        var body = { qr_token: token, category: category, description: text, website: form.elements.website.value };
        ['contact_name', 'contact_phone'].forEach(function (f) {
          var v = form.elements[f].value.trim();
          if (v) body[f] = v;
        });
        if (form.elements.lat.value && form.elements.lng.value) {
          body.lat = Number(form.elements.lat.value);
          body.lng = Number(form.elements.lng.value);
        }
        if (ids.length) body.attachment_ids = ids;
        return fetch('/api/v1/reports', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': draft.key },
          body: JSON.stringify(body)
        });
      }).then(function (r) {
        if (r.status !== 201) throw r;
        return r.json().then(function (done) {
          forget();
          location.assign(done.status_url + '&new=1' + (phone ? '&call=1' : '') + (en ? '&lang=en' : ''));
        });
      }).catch(function (r) {
        if (!r || typeof r.status !== 'number') return fail(m.mNet);
        if (r.status === 429) return fail(m.mBusy);
        if (r.status >= 500) return fail(m.mNet);
        return problems(r).then(function (p) {
          // The key went with an earlier, different version of this report (sent,
          // but its answer lost, then edited): this version is a report of its own.
          if (!rekeyed && p.fields.indexOf('Idempotency-Key') >= 0) {
            draft.key = uuid();
            save();
            return go(category, text, true);
          }
          fail(m.mCheck, p.list);
        });
      });
    }

    function fail(lead, list) { idle(); say(msg, lead, list); }
  }

  // --- the rating, on the status page ---
  function rating(form) {
    var m = form.dataset;
    var box = $('rate-msg');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var res = form.querySelector('input[name=resolved]:checked');
      var sat = form.querySelector('input[name=satisfaction]:checked');
      if (!res || !sat) return say(box, m.mCheck);
      var body = { resolved: res.value === 'true', satisfaction: sat.value };
      var c = form.elements.comment.value.trim();
      if (c) body.comment = c;
      var button = form.querySelector('button');
      button.disabled = true;
      fetch(form.getAttribute('action'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body)
      }).then(function (r) {
        button.disabled = false;
        if (r.status === 201 || r.status === 409) {
          var p = d.createElement('p');
          p.className = 'ok';
          p.setAttribute('role', 'status');
          p.textContent = r.status === 201 ? m.mDone : m.mAgain;
          form.parentNode.replaceChild(p, form);
          show(box, false);
          return;
        }
        if (r.status >= 500 || r.status === 429) return say(box, m.mNet);
        return problems(r).then(function (p) { say(box, m.mCheck, p.list); });
      }, function () { button.disabled = false; say(box, m.mNet); });
    });
  }

  // --- the status link: copy it; keep the address bar free of one-time flags ---
  function share(button) {
    var link = $('link');
    var state = $('copy-state');
    show(button, true);
    button.addEventListener('click', function () {
      var ok = function () { state.textContent = button.dataset.done; };
      var fallback = function () {
        link.select();
        try { if (d.execCommand('copy')) return ok(); } catch (e) { /* below */ }
        state.textContent = button.dataset.fail;
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(link.value).then(ok, fallback);
      else fallback();
    });
    if (history.replaceState && /[?&](new|call)=/.test(location.search)) {
      history.replaceState(null, '', location.pathname + location.search.replace(/&(new|call)=[^&]*/g, ''));
    }
  }
})();
