// portlab page script: loads the wasm client with a progress bar, keeps the
// student's lab, fills the mailbox live, shows lesson progress, and relays
// progress events of embedded pages to the parent. No framework, no inline
// script (the CSP forbids it); the SMTP client itself is Go in the wasm.
"use strict";

(function () {
  const body = document.body;
  // The JSON API and the page language's words (common.js, loaded first).
  const api = window.portlab.api;
  const t = window.portlab.t;
  const LAB_KEY = "portlab.lab";

  // ---- storage -----------------------------------------------------------
  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  // ---- the lab -------------------------------------------------------------
  let labPromise = null;
  // labReplaced is set when the kept lab was gone (expired, server
  // restarted) and a new one took its place: the page says so.
  let labReplaced = false;

  // A student in a class has the class's lab, whatever the address's
  // limit: the class token (kept by the join page) opens it, or a new one
  // when it ended or the server restarted.
  const CLASS_KEY = "portlab.class";
  async function classLab() {
    const cls = load(CLASS_KEY);
    if (!cls || !cls.token) return null;
    try {
      const me = await api("GET", "/api/classroom/me", undefined, cls.token);
      if (load(LAB_KEY) && load(LAB_KEY).id !== me.lab.id) labReplaced = true;
      save(LAB_KEY, me.lab);
      return me.lab;
    } catch (e) {
      if (e.status !== 401 && e.status !== 404) throw e;
      localStorage.removeItem(CLASS_KEY); // the class no longer knows this token
      return null;
    }
  }

  async function openLab(profile) {
    const inClass = await classLab();
    if (inClass) return inClass;
    const kept = load(LAB_KEY);
    if (kept && kept.id && kept.key) {
      try {
        // The key is kept: only the creation answers it.
        const fresh = await api("GET", "/api/labs/" + encodeURIComponent(kept.id), undefined, kept.key);
        const lab = Object.assign({}, kept, fresh || {});
        save(LAB_KEY, lab);
        return lab;
      } catch (e) {
        if (!gone(e)) throw e;
        labReplaced = true;
      }
    }
    // No profile: the server starts the lab on its profiles file's default.
    const lab = await api("POST", "/api/labs", { profile: profile || "" });
    save(LAB_KEY, lab);
    return lab;
  }

  // gone: the lab expired, the server restarted (labs live in memory), or
  // the key is not the lab's.
  function gone(e) { return e.status === 401 || e.status === 403 || e.status === 404 || e.status === 410; }

  function lab(profile) {
    if (!labPromise) {
      labPromise = openLab(profile).then(function (l) {
        showLab(l);
        document.dispatchEvent(new CustomEvent("portlab:lab", { detail: l }));
        return l;
      }, function (e) {
        labPromise = null;
        throw e;
      });
    }
    return labPromise;
  }

  async function resetLab() {
    const kept = load(LAB_KEY);
    localStorage.removeItem(LAB_KEY);
    labPromise = null;
    if (kept && kept.id) {
      api("DELETE", "/api/labs/" + encodeURIComponent(kept.id), undefined, kept.key).catch(function () {});
    }
    return lab();
  }

  async function setProfile(name) {
    const l = await lab();
    const updated = await api("PATCH", "/api/labs/" + encodeURIComponent(l.id), { profile: name }, l.key);
    const merged = Object.assign({}, l, updated || { profile: name });
    save(LAB_KEY, merged);
    labPromise = Promise.resolve(merged);
    showLab(merged);
    return merged;
  }

  function showLab(l) {
    const panel = document.getElementById("lab");
    if (!panel) return;
    panel.dataset.state = "ready";
    if (labReplaced) {
      labReplaced = false;
      let note = document.getElementById("lab-replaced");
      if (!note) {
        note = document.createElement("p");
        note.id = "lab-replaced";
        note.className = "notice lab-replaced";
        note.setAttribute("role", "status");
        note.dataset.testid = "lab-replaced";
        panel.appendChild(note);
      }
      note.textContent = t("app.lab-replaced");
    }
    text("lab-id", l.id);
    text("lab-user", l.user || "—");
    text("lab-password", l.password || "—");
    const exp = document.getElementById("lab-expires");
    if (exp && l.expires_at) {
      exp.dateTime = l.expires_at;
      exp.textContent = new Date(l.expires_at).toLocaleString(document.documentElement.lang || undefined);
    }
  }

  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value == null ? "" : String(value);
  }

  // ---- lesson progress, kept per lesson --------------------------------
  // Progress is the student's, not the lab's: one key for every lab, so a
  // new lab, an expired one or a server restart loses nothing. Each lesson
  // keeps its step, its state, who did each step (steps) and its best
  // finish (best: "passed" outlives a later replay that was only watched).
  const PROGRESS_KEY = "portlab.progress";
  // Progress kept per lab before ("portlab.progress.<lab>") joins the one key.
  (function migrate() {
    const all = load(PROGRESS_KEY) || {};
    let moved = false;
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (!k || k.indexOf(PROGRESS_KEY + ".") !== 0) continue;
      const old = load(k) || {};
      Object.keys(old).forEach(function (name) { if (!all[name]) all[name] = old[name]; });
      localStorage.removeItem(k);
      moved = true;
    }
    if (moved) save(PROGRESS_KEY, all);
  })();
  const RANK = { watched: 1, passed: 2 };
  const progress = {
    all: function () { return load(PROGRESS_KEY) || {}; },
    get: function (lesson) { return progress.all()[lesson] || null; },
    set: function (lesson, value) {
      const all = progress.all();
      const prev = all[lesson] || {};
      let best = prev.best;
      if ((RANK[value.state] || 0) > (RANK[best] || 0)) best = value.state;
      all[lesson] = Object.assign({}, value, { best: best, updated: new Date().toISOString() });
      save(PROGRESS_KEY, all);
    },
    // clear starts the lesson over; its best finish stays.
    clear: function (lesson) {
      const all = progress.all();
      const best = all[lesson] && all[lesson].best;
      if (best) all[lesson] = { best: best, step: 0, state: "new" };
      else delete all[lesson];
      save(PROGRESS_KEY, all);
    },
  };

  function showProgressBadges() {
    const all = progress.all();
    document.querySelectorAll(".progress-badge[data-testid^='progress-']").forEach(function (el) {
      const name = el.dataset.testid.slice("progress-".length);
      const p = all[name];
      if (!p) return;
      const best = p.best || (RANK[p.state] ? p.state : "");
      if (best === "passed" || p.state === "passed") { el.dataset.state = "passed"; el.textContent = t("app.badge.passed"); }
      else if (p.state === "running" || p.state === "failed") {
        el.dataset.state = p.state === "failed" ? "failed" : "started";
        el.textContent = (p.state === "failed" ? t("app.badge.failed", (p.step || 0) + 1) : p.total ? t("app.badge.step-of", (p.step || 0) + 1, p.total) : t("app.badge.step", (p.step || 0) + 1)) + (best ? t("app.badge.watched-before") : "");
      } else if (best === "watched") { el.dataset.state = "watched"; el.textContent = t("app.badge.watched"); }
    });
  }

  // ---- embedding: events to the parent page -------------------------------
  // An /embed/ page posts its events (ready, lesson, step, port, terminal,
  // height) to the allowed origins (--allow-origin) and its own; the
  // browser delivers each only to the one that is the parent's. The
  // parent's commands are taken by the wasm client (wasm/embed.go).
  function postToParent(detail) {
    if (!body.dataset.embed || window.parent === window) return;
    const origins = (body.dataset.origins || "").split(/\s+/).filter(Boolean);
    if (origins.indexOf(location.origin) < 0) origins.push(location.origin);
    const msg = Object.assign({ source: "portlab" }, detail);
    origins.forEach(function (o) {
      try { window.parent.postMessage(msg, o); } catch (e) { /* bad origin in config */ }
    });
  }
  document.addEventListener("portlab:progress", function (ev) { postToParent(ev.detail || {}); });

  // The page's height, so that the parent can size the iframe to it: once
  // at start and whenever it changes (steps open, the transcript grows).
  function watchHeight() {
    if (!body.dataset.embed || window.parent === window || !window.ResizeObserver) return;
    let last = 0;
    let queued = false;
    function post() {
      queued = false;
      const px = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (px === last) return;
      last = px;
      postToParent({ type: "height", px: px });
    }
    new ResizeObserver(function () {
      if (!queued) { queued = true; requestAnimationFrame(post); }
    }).observe(document.documentElement);
  }

  // ---- mailbox -------------------------------------------------------------
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "dataset") Object.assign(e.dataset, attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function messageItem(m, full) {
    const dl = el("dl");
    function row(k, v) {
      if (v === undefined || v === null || v === "") return;
      dl.appendChild(el("dt", { text: k }));
      dl.appendChild(el("dd", { text: String(v) }));
    }
    row(t("app.msg.from"), m.from);
    row(t("app.msg.to"), (m.to || []).join(", "));
    row(t("app.msg.arrived"), (m.host || "") + (m.port ? ":" + m.port : ""));
    row("TLS", m.tls ? [m.tls_version, m.tls_cipher].filter(Boolean).join(", ") || t("app.yes") : t("app.msg.tls-none"));
    row("AUTH", m.auth_user || t("app.msg.auth-none"));
    row(t("app.msg.size"), m.size ? t("app.msg.bytes", m.size) : "");
    row(t("app.msg.received"), m.received_at ? new Date(m.received_at).toLocaleString(document.documentElement.lang || undefined) : "");
    if (m.relayed) row(t("app.msg.relayed"), t("app.yes"));
    const badges = el("p", {}, [
      el("span", { class: "badge", text: t("app.msg.port", m.port || "?") }),
      el("span", { class: "badge " + (m.tls ? "tls" : "plain"), text: m.tls ? "TLS" : t("app.msg.plaintext") }),
      m.auth_user ? el("span", { class: "badge", text: "AUTH " + m.auth_user }) : null,
    ]);
    const subject = el("span", { class: "subject", text: m.subject || t("app.msg.no-subject") });
    const children = [subject, badges, dl];
    if (full) {
      const btn = el("button", { type: "button", class: "secondary", text: t("app.msg.open"), "data-testid": "message-open" });
      btn.addEventListener("click", function () { openMessage(m); });
      children.push(btn);
    }
    return el("li", { "data-testid": "message", "data-id": m.id, "data-port": m.port, "data-tls": m.tls ? "true" : "false" }, children);
  }

  async function openMessage(m) {
    const view = document.getElementById("message-view");
    if (!view) return;
    const l = await lab();
    view.hidden = false;
    const meta = document.getElementById("message-meta");
    meta.replaceChildren(messageItem(m, false));
    const table = document.getElementById("message-headers");
    table.replaceChildren();
    // The API sends the header fields in message order: [{name, value}].
    // Anything else shows no rows rather than stopping the view.
    (Array.isArray(m.headers) ? m.headers : []).forEach(function (h) {
      table.appendChild(el("tr", { "data-name": h.name }, [el("th", { scope: "row", text: h.name }), el("td", { text: h.value })]));
    });
    document.querySelectorAll("#mailbox-list [data-testid=message]").forEach(function (li) {
      if (li.dataset.id === m.id) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    });
    const raw = document.getElementById("message-raw");
    raw.textContent = t("app.loading");
    try {
      raw.textContent = await api("GET", "/api/labs/" + encodeURIComponent(l.id) + "/messages/" + encodeURIComponent(m.id) + "/raw", undefined, l.key);
    } catch (e) {
      raw.textContent = t("app.msg.raw-error", e.message);
    }
    // Beside the list (wide screens) the view is already in sight; below
    // it (narrow ones) bring it into view. Focus moves there either way.
    view.focus({ preventScroll: true });
    if (view.getBoundingClientRect().top > window.innerHeight) view.scrollIntoView();
  }

  let refreshing = null;
  async function refreshMailbox(box) {
    if (refreshing) return refreshing;
    refreshing = (async function () {
      const l = await lab();
      const list = await api("GET", "/api/labs/" + encodeURIComponent(l.id) + "/messages", undefined, l.key);
      const ul = document.getElementById("mailbox-list");
      const full = box.classList.contains("full");
      // The API lists the newest message first; so does the page.
      const items = (list || []).map(function (m) { return messageItem(m, full); });
      ul.replaceChildren.apply(ul, items);
      document.getElementById("mailbox-empty").hidden = items.length > 0;
      box.dataset.state = "ready";
      box.dataset.count = String(items.length);
    })().finally(function () { refreshing = null; });
    return refreshing;
  }

  let source = null;
  function startMailbox() {
    const box = document.getElementById("mailbox");
    if (!box) return;
    const live = document.getElementById("mailbox-live");
    const go = function () {
      refreshMailbox(box).catch(function (e) {
        box.dataset.state = "error";
        text("mailbox-empty", t("app.mailbox.unreachable", e.message));
      });
    };
    lab().then(function (l) {
      go();
      if (source) source.close();
      if (!window.EventSource) return;
      // EventSource cannot set headers: the key goes in the query.
      const es = new EventSource("/api/labs/" + encodeURIComponent(l.id) + "/events?key=" + encodeURIComponent(l.key || ""));
      source = es;
      es.onopen = function () { live.dataset.state = "on"; live.textContent = t("app.mailbox.live"); };
      es.onerror = function () {
        live.dataset.state = "off"; live.textContent = t("app.mailbox.reconnecting");
        // EventSource hides the status code: ask the API whether the lab
        // is still there (a restart empties the server's memory).
        api("GET", "/api/labs/" + encodeURIComponent(l.id), undefined, l.key).catch(function (e) {
          if (!gone(e) || source !== es) return;
          es.close();
          labExpired(box, live);
        });
      };
      source.onmessage = function (ev) {
        let e = null;
        try { e = JSON.parse(ev.data); } catch (err) { return; }
        if (e && e.kind === "message") go();
        document.dispatchEvent(new CustomEvent("portlab:event", { detail: e }));
      };
    }, function (e) {
      box.dataset.state = "error";
      text("mailbox-empty", t("app.no-lab", e.message));
    });
  }
  document.addEventListener("portlab:lab", function () { if (source) startMailbox(); });

  // labExpired says so in the mailbox, with a way to start a new lab.
  function labExpired(box, live) {
    live.dataset.state = "expired";
    live.textContent = t("app.mailbox.expired");
    box.dataset.state = "expired";
    const note = document.getElementById("mailbox-empty");
    if (!note) return;
    const said = note.textContent;
    const again = el("button", { type: "button", text: t("app.lab.new"), "data-testid": "lab-new" });
    again.addEventListener("click", function () {
      note.textContent = said;
      // The new lab's portlab:lab event restarts the mailbox.
      resetLab().then(showProgressBadges);
    });
    note.hidden = false;
    note.replaceChildren(el("span", { "data-testid": "lab-expired", text: t("app.lab.expired") + " " }), again);
  }

  // ---- the wasm client -----------------------------------------------------
  function loaderState(state, message) {
    const loader = document.getElementById("client-loader");
    if (!loader) return;
    loader.dataset.state = state;
    if (message) text("client-progress-text", message);
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  async function fetchWithProgress(url, expected) {
    const res = await fetch(url);
    if (!res.ok) throw new Error("GET " + url + ": " + res.status);
    const total = expected || Number(res.headers.get("X-Uncompressed-Length")) || 0;
    const bar = document.getElementById("client-progress");
    if (!res.body || !total) return res.arrayBuffer();
    const reader = res.body.getReader();
    const buf = new Uint8Array(total);
    let got = 0;
    const chunks = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      if (got + r.value.length <= total) buf.set(r.value, got);
      else chunks.push(r.value);
      got += r.value.length;
      const pct = Math.min(100, Math.round(got * 100 / total));
      if (bar) bar.value = pct;
      text("client-progress-text", t("app.client.progress", pct, (total / 1048576).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 })));
    }
    if (got === total) return buf.buffer;
    // The size hint was wrong: join what came.
    const out = new Uint8Array(got);
    out.set(buf.subarray(0, Math.min(got, total)), 0);
    let off = Math.min(got, total);
    chunks.forEach(function (c) { out.set(c, off); off += c.length; });
    return out.buffer;
  }

  async function startClient() {
    const url = body.dataset.wasmUrl;
    if (!url) return;
    window.portlabTimings = { navigation: 0, start: performance.now() };
    try {
      await loadScript(body.dataset.wasmExec);
      const bytes = await fetchWithProgress(url, Number(body.dataset.wasmSize) || 0);
      window.portlabTimings.downloaded = performance.now();
      loaderState("starting", "starting…");
      const go = new window.Go();
      const result = await WebAssembly.instantiate(bytes, go.importObject);
      window.portlabTimings.instantiated = performance.now();
      go.run(result.instance).then(function () {
        loaderState("error", t("app.client.stopped"));
      });
    } catch (e) {
      loaderState("error", t("app.client.failed", e.message));
      const term = document.getElementById("terminal");
      if (term) term.dataset.ready = "error";
    }
  }

  // The wasm calls this when it has wired the page.
  function clientReady() {
    loaderState("ready", "ready");
    if (window.portlabTimings) window.portlabTimings.ready = performance.now();
  }

  // ---- the lab's own policy (docs/teaching-map.md L27) ---------------------
  // The editor holds the text the lab follows; Apply sends it whole, and
  // the server answers 422 with every error at its line when it refuses it
  // (the lab keeps the policy it had).
  function policyPath(l) { return "/api/labs/" + encodeURIComponent(l.id) + "/policy"; }

  function policyGutter() {
    const ta = document.getElementById("policy-text");
    const gutter = document.getElementById("policy-gutter");
    if (!ta || !gutter) return;
    const n = ta.value.split("\n").length;
    let s = "";
    for (let i = 1; i <= n; i++) s += i + "\n";
    gutter.textContent = s;
    gutter.scrollTop = ta.scrollTop;
  }

  function showPolicy(p) {
    const ed = document.getElementById("policy-editor");
    const ta = document.getElementById("policy-text");
    ta.value = p.text || "";
    policyGutter();
    ed.dataset.state = p.own ? "own" : "server";
    text("policy-state", p.own ? t("app.policy.own") : t("app.policy.server"));
  }

  function policyErrors(list, title) {
    const box = document.getElementById("policy-errors");
    const ol = document.getElementById("policy-error-list");
    ol.textContent = "";
    if (!list || !list.length) { box.hidden = true; return; }
    text("policy-errors-title", title);
    list.forEach(function (e) {
      if (!(e.line > 0)) {
        ol.appendChild(el("li", { "data-testid": "policy-error", text: e.message }));
        return;
      }
      const jump = el("button", { type: "button", class: "link", "data-line": String(e.line) }, [document.createTextNode(t("app.policy.line", e.line))]);
      jump.addEventListener("click", function () { selectLine(e.line); });
      ol.appendChild(el("li", { "data-testid": "policy-error", "data-line": String(e.line) }, [jump, document.createTextNode(": " + e.message)]));
    });
    box.hidden = false;
  }

  // selectLine puts the cursor on a line of the editor, for an error.
  function selectLine(n) {
    const ta = document.getElementById("policy-text");
    const lines = ta.value.split("\n");
    let start = 0;
    for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(start, start + (lines[n - 1] || "").length);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (n - 3) * lh);
    policyGutter();
  }

  async function refreshPolicy() {
    if (!document.getElementById("policy-editor")) return;
    const l = await lab();
    showPolicy(await api("GET", policyPath(l), undefined, l.key));
  }

  function startPolicyEditor() {
    const ed = document.getElementById("policy-editor");
    if (!ed) return;
    const ta = document.getElementById("policy-text");
    ta.addEventListener("input", policyGutter);
    ta.addEventListener("scroll", function () { document.getElementById("policy-gutter").scrollTop = ta.scrollTop; });
    const busy = function (on) {
      document.getElementById("policy-apply").disabled = on;
      document.getElementById("policy-reset").disabled = on;
    };
    document.getElementById("policy-apply").addEventListener("click", async function () {
      busy(true);
      try {
        const l = await lab();
        showPolicy(await api("PUT", policyPath(l), { text: ta.value }, l.key));
        policyErrors(null);
        text("policy-state", t("app.policy.applied"));
      } catch (e) {
        const b = e.body || {};
        if (e.status === 422 && b.errors) {
          ed.dataset.state = "refused";
          text("policy-state", t("app.policy.refused"));
          policyErrors(b.errors, t("app.policy.errors", b.errors.length));
        } else {
          policyErrors([{ line: 0, message: b.error || e.message }], t("app.policy.not-applied"));
        }
      } finally { busy(false); }
    });
    document.getElementById("policy-reset").addEventListener("click", async function () {
      busy(true);
      try {
        const l = await lab();
        showPolicy(await api("DELETE", policyPath(l), undefined, l.key));
        policyErrors(null);
      } catch (e) {
        text("policy-state", t("app.policy.reset-failed", e.message));
      } finally { busy(false); }
    });
    refreshPolicy().catch(function (e) { text("policy-state", t("app.policy.load-failed", e.message)); });
  }
  document.addEventListener("portlab:lab", function () {
    refreshPolicy().catch(function () { /* said by the lab panel */ });
  });

  Object.assign(window.portlab, {
    lab: lab,
    resetLab: resetLab,
    setProfile: setProfile,
    progress: progress,
    clientReady: clientReady,
    refreshPolicy: refreshPolicy,
    refreshMailbox: function () { const b = document.getElementById("mailbox"); return b ? refreshMailbox(b) : Promise.resolve(); },
  });

  // ---- the lesson page: steps and terminal as tabs below 960 px ----------
  // Both panels show side by side on wide screens (the tabs are hidden
  // there); below 960 px one shows at a time. Start and the status bar's
  // "Read the step" move between them; nothing else scrolls the page.
  function wireLessonTabs() {
    const lesson = document.querySelector(".lesson[data-view]");
    if (!lesson) return;
    const tabs = Array.from(lesson.querySelectorAll(".lesson-tabs [role=tab]"));
    function show(view, focusTab) {
      lesson.dataset.view = view;
      tabs.forEach(function (t) {
        const on = t.dataset.view === view;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        if (on && focusTab) t.focus();
      });
    }
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { show(t.dataset.view); });
      t.addEventListener("keydown", function (e) {
        if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
        e.preventDefault();
        show(tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length].dataset.view, true);
      });
    });
    show(lesson.dataset.view || "steps");
    lesson.querySelectorAll(".to-terminal [data-view]").forEach(function (b) {
      b.addEventListener("click", function () { show(b.dataset.view); });
    });
    ["lesson-start", "lesson-play-all", "lesson-play-step"].forEach(function (id) {
      const b = document.getElementById(id);
      if (b) b.addEventListener("click", function () { show("terminal"); });
    });
    const read = document.getElementById("lesson-read-step");
    if (read) read.addEventListener("click", function () {
      const target = document.getElementById(read.dataset.target || "");
      if (!target) return;
      show("steps");
      // Asked for: the one scroll the page makes.
      target.scrollIntoView({ block: "start" });
      if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.tabIndex = -1;
      target.focus({ preventScroll: true });
    });
  }

  // The home page's Start becomes "Continue with …": the lesson last
  // worked on if it is not finished, else the first in course order not
  // finished yet (passed or watched). Course order is the lesson list's.
  function continueLink() {
    const link = document.getElementById("home-start");
    if (!link) return;
    const all = progress.all();
    const names = Object.keys(all);
    if (names.length === 0) return;
    const items = Array.from(document.querySelectorAll(".lesson-list [data-lesson]"));
    const title = {};
    items.forEach(function (li) { const a = li.querySelector("a"); title[li.dataset.lesson] = a ? a.textContent : li.dataset.lesson; });
    let pick = "";
    let newest = "";
    names.forEach(function (n) {
      const p = all[n];
      const open = p.state === "running" || p.state === "failed";
      if (open && title[n] && (p.updated || "") >= newest) { pick = n; newest = p.updated || ""; }
    });
    if (!pick) {
      const next = items.find(function (li) { const p = all[li.dataset.lesson]; return !p || !(RANK[p.best] || RANK[p.state]); });
      if (next) pick = next.dataset.lesson;
    }
    if (!pick) return;
    link.href = "/lessons/" + encodeURIComponent(pick);
    link.textContent = t("app.continue", title[pick]);
    link.dataset.lesson = pick;
  }

  function start() {
    watchHeight();
    showProgressBadges();
    continueLink();
    wireLessonTabs();
    const reset = document.getElementById("lab-reset");
    if (reset) reset.addEventListener("click", function () {
      resetLab().then(function () { if (source) startMailbox(); showProgressBadges(); });
    });
    if (document.getElementById("lab")) lab().catch(function (e) { text("lab-id", t("app.lab.unavailable", e.message)); });
    startMailbox();
    startPolicyEditor();
    accountRecipes();
    startClient();
  }

  // accountRecipes puts the student's own lab account into the "your own
  // client" recipes, so mail sent with swaks, curl or Thunderbird lands in
  // their lab's mailbox (and, in a class, on the teacher's dashboard)
  // rather than in the shared classroom's.
  function accountRecipes() {
    const note = document.getElementById("clients-account");
    if (!note) return;
    lab().then(function (l) {
      if (!l || !l.user || !l.password) return;
      document.querySelectorAll("pre.cmd code").forEach(function (c) {
        c.textContent = c.textContent
          .replace("--auth-user foo --auth-password barbaz", "--auth-user " + l.user + " --auth-password " + l.password)
          .replace("--user foo:barbaz", "--user " + l.user + ":" + l.password);
      });
      document.querySelectorAll("[data-account=user]").forEach(function (c) { c.textContent = l.user; });
      document.querySelectorAll("[data-account=password]").forEach(function (c) { c.textContent = c.textContent.replace("barbaz", l.password); });
      note.textContent = t("app.clients.account", l.user);
      note.hidden = false;
    }).catch(function () { /* no lab: the demo account stays */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
