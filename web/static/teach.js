// portlab classroom pages: the teacher's sign-in and classes (/teach), a
// class's live dashboard (/teach/classes/ID) and the students' join page
// (/join). Everything comes from the classroom API (/api/classroom/); no
// inline script (the CSP forbids it).
"use strict";

(function () {
  const page = document.body.dataset.page;

  // The JSON API (a failure's message is the server's words) and the
  // page language's words, keys "teach.js." (common.js, loaded first).
  const api = window.portlab.api;
  function t(key) {
    const args = Array.prototype.slice.call(arguments, 1);
    return window.portlab.t.apply(null, ["teach.js." + key].concat(args));
  }
  // word is a server value's label (a state, a verdict), or the value
  // itself when the catalog has none.
  function word(kind, v) {
    const k = "teach.js." + kind + "." + String(v).replace(/ /g, "-");
    const w = window.portlab.t(k);
    return w === k ? v : w;
  }

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) e.append(c); });
    return e;
  }
  function showError(id, e) {
    const p = $(id);
    if (!p) return;
    p.hidden = !e;
    p.textContent = e ? e.message : "";
  }

  // ---- /teach ---------------------------------------------------------
  async function teachPage() {
    const s = await api("GET", "/api/classroom/session");
    if (!s.teacher) {
      $("teach-login").hidden = false;
      $("login-form").addEventListener("submit", async function (ev) {
        ev.preventDefault();
        try {
          await api("POST", "/api/classroom/session", { password: $("teach-password").value });
          $("teach-login").hidden = true;
          await showClasses();
        } catch (e) { showError("login-error", e); }
      });
      $("teach-password").focus();
      return;
    }
    await showClasses();
  }

  async function showClasses() {
    $("teach-classes").hidden = false;
    const list = $("class-list");
    const classes = await api("GET", "/api/classroom/classes");
    classes.forEach(function (c) {
      list.append(el("li", { "data-testid": "class-" + c.code }, [
        el("a", { href: "/teach/classes/" + encodeURIComponent(c.id), text: c.name }),
        el("p", { class: "muted", text: t("code", c.code) + " · " + t("students", c.students, c.capacity) + (c.ended_at ? " · " + t("ended") : c.locked ? " · " + t("joining-locked") : "") }),
      ]));
    });
    $("class-form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      try {
        const c = await api("POST", "/api/classroom/classes", { name: $("class-name").value, capacity: Number($("class-capacity").value) || 0 });
        location.href = "/teach/classes/" + encodeURIComponent(c.id);
      } catch (e) { showError("class-error", e); }
    });
    $("sign-out").addEventListener("click", async function () {
      await api("DELETE", "/api/classroom/session").catch(function () {});
      location.reload();
    });
  }

  // ---- /teach/classes/ID ----------------------------------------------
  function ago(when) {
    if (!when || when.indexOf("0001-") === 0) return "";
    const s = Math.max(0, Math.round((Date.now() - new Date(when).getTime()) / 1000));
    if (s < 60) return t("ago-s", s);
    if (s < 3600) return t("ago-min", Math.floor(s / 60));
    return t("ago-h", Math.floor(s / 3600));
  }

  function dashboard() {
    const box = $("dashboard");
    const id = box.dataset.class;
    const base = "/api/classroom/classes/" + encodeURIComponent(id);
    const rows = new Map();
    let cls = null;

    function showClass(c) {
      cls = c;
      $("class-title").textContent = c.name;
      document.title = c.name + " · portlab";
      $("class-link").textContent = c.join_url;
      $("class-link").href = c.join_url;
      $("class-code").textContent = c.code;
      const state = [t("students", c.students, c.capacity)];
      if (c.ended_at) state.push(t("ended"));
      else if (c.locked) state.push(t("joining-locked"));
      if (c.profile) state.push(t("network", c.profile));
      if (c.lesson) state.push(t("assigned", c.lesson));
      $("class-state").textContent = state.join(" · ");
      $("class-lock").textContent = c.locked ? t("unlock") : t("lock");
      $("class-end").disabled = !!c.ended_at;
      $("profile-undo").disabled = !c.can_undo_profile;
      if (c.profile) $("class-profile").value = c.profile;
      $("class-lesson").value = c.lesson || "";
      $("class-project").href = "/teach/project" + (c.lesson ? "?lesson=" + encodeURIComponent(c.lesson) : "");
      if (document.activeElement !== $("stuck-fails")) $("stuck-fails").value = c.stuck_fails;
      if (document.activeElement !== $("stuck-minutes")) $("stuck-minutes").value = c.stuck_minutes;
    }

    function cell(text, attrs) { return el("td", attrs || {}, [text]); }
    function rowEl(r) {
      const name = el("button", { type: "button", class: "link", "data-testid": "open-" + r.id, text: r.name });
      name.addEventListener("click", function () { openTranscript(r); });
      const where = r.lesson ? t("where", r.lesson, Math.min(r.step + (r.state === "passed" || r.state === "watched" ? 0 : 1), r.total || 0), r.total || "?") + (r.state && r.state !== "running" && r.state !== "open" ? " (" + word("state", r.state) + ")" : "") : t("not-in-lesson");
      const reply = r.last_reply ? el("span", {}, [el("code", { class: "code-" + r.last_reply[0] + "xx", text: r.last_reply }), " ", el("span", { class: "muted ago", "data-time": r.last_reply_at, text: ago(r.last_reply_at) })]) : "—";
      const tr = el("tr", { "data-testid": "row-" + r.id, "data-student": r.name, "data-stuck": r.stuck ? "true" : "false", "data-lesson": r.lesson || "" }, [
        el("th", { scope: "row" }, [name]),
        cell(where, { "data-testid": "where-" + r.id }),
        cell(String(r.passed.length), { title: r.passed.join(", "), "data-testid": "passed-" + r.id }),
        cell(String(r.watched.length), { title: r.watched.join(", ") }),
        cell(String(r.hints)),
        el("td", { "data-testid": "reply-" + r.id }, [reply]),
        el("td", { "data-testid": "ports-" + r.id }, portBoard(r.ports)),
        cell(r.stuck ? t("stuck", r.stuck) : "", { class: r.stuck ? "stuck" : "" }),
      ]);
      return tr;
    }

    // The port board in brief: each port the student tried, with what its
    // last connection came to (a mark as well as a colour).
    const marks = { "answered": "✓", "refused": "✕", "timed out": "…", "unknown host": "?" };
    function portBoard(ports) {
      const list = Object.keys(ports || {}).sort(function (a, b) { return a - b; });
      if (!list.length) return ["—"];
      return list.map(function (p) {
        return el("span", { class: "port-chip", "data-verdict": ports[p], title: p + ": " + word("verdict", ports[p]), "data-testid": "port-" + p, text: p + " " + (marks[ports[p]] || "") });
      });
    }

    function render() {
      const tbody = $("rows");
      const filter = $("filter").value;
      const sort = $("sort").value;
      let list = Array.from(rows.values());
      if (filter === "stuck") list = list.filter(function (r) { return !!r.stuck; });
      else if (filter.indexOf("lesson:") === 0) list = list.filter(function (r) { return r.lesson === filter.slice(7); });
      const by = {
        joined: function (a, b) { return a.joined < b.joined ? -1 : 1; },
        name: function (a, b) { return a.name.localeCompare(b.name); },
        stuck: function (a, b) { return (b.stuck ? 1 : 0) - (a.stuck ? 1 : 0) || (a.joined < b.joined ? -1 : 1); },
        progress: function (a, b) { return b.passed.length - a.passed.length || b.step - a.step; },
      }[sort];
      list.sort(by);
      tbody.replaceChildren.apply(tbody, list.map(rowEl));
      $("no-students").hidden = rows.size > 0;
    }

    async function openTranscript(r) {
      const panel = $("transcript-panel");
      panel.hidden = false;
      $("transcript-title").textContent = t("transcript-of", r.name);
      try {
        // In the page's language: the network's reasons are worded in it.
        const tx = await api("GET", base + "/students/" + encodeURIComponent(r.id) + "/transcript?lang=" + encodeURIComponent(document.documentElement.lang));
        // The route: each connection, what the network did with it, how far it got.
        $("route").replaceChildren.apply($("route"), (tx.route || []).map(function (h) {
          const got = [];
          if (h.tls) got.push(h.tls);
          if (h.auth) got.push("AUTH " + h.auth);
          if (h.messages) got.push(t("stored", h.messages));
          if (h.last) got.push(t("last", h.last));
          return el("li", { "data-verdict": h.verdict }, [
            el("code", { text: h.host + ":" + h.port }), " " + word("verdict", h.verdict),
            h.why ? " (" + h.why + ")" : "", got.length ? " · " + got.join(" · ") : "",
          ]);
        }));
        if (!(tx.route || []).length) $("route").replaceChildren(el("li", { text: t("no-connection") }));
        if (tx.profile) $("route").prepend(el("li", { class: "muted", text: t("network-of", tx.profile) }));
        // The swaks-style marks of the page's transcript: -> sent, <- received,
        // ~> and <~ inside TLS, === the rest.
        $("transcript").textContent = tx.lines.map(function (l) {
          const mark = l.kind === "command" ? (l.secure ? "~>" : "->") : l.kind === "reply" ? (l.secure ? "<~" : "<-") : "===";
          return new Date(l.time).toLocaleTimeString() + " " + (l.host ? l.host + ":" + l.port + " " : "") + mark + " " + (l.kind === "command" || l.kind === "reply" ? "" : l.kind + " ") + l.text;
        }).join("\n") || t("nothing-yet");
      } catch (e) { $("transcript").textContent = e.message; }
      $("transcript").focus();
    }
    $("transcript-close").addEventListener("click", function () { $("transcript-panel").hidden = true; });

    async function control(method, path, payload) {
      try {
        showClass(await api(method, base + path, payload));
        showError("control-error", null);
      } catch (e) { showError("control-error", e); }
    }
    $("profile-form").addEventListener("submit", function (ev) { ev.preventDefault(); control("POST", "/profile", { profile: $("class-profile").value }); });
    $("profile-undo").addEventListener("click", function () { control("POST", "/profile", { profile: "" }); });
    $("lesson-form").addEventListener("submit", function (ev) { ev.preventDefault(); control("PATCH", "", { lesson: $("class-lesson").value }); });
    $("stuck-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      control("PATCH", "", { stuck_fails: Number($("stuck-fails").value) || 0, stuck_minutes: Number($("stuck-minutes").value) || 0 });
    });
    $("class-lock").addEventListener("click", function () { control("PATCH", "", { locked: !(cls && cls.locked) }); });
    $("class-reset").addEventListener("click", function () {
      if (confirm(t("confirm-reset"))) {
        control("POST", "/reset").then(function () { mail.clear(); showMail(); });
      }
    });
    $("class-clear-mail").addEventListener("click", function () {
      if (confirm(t("confirm-clear"))) {
        control("DELETE", "/mailbox").then(function () { mail.clear(); showMail(); });
      }
    });

    // The class mailbox: read-only, newest first; the stream adds new mail.
    const mail = new Map();
    function showMail() {
      const list = Array.from(mail.values()).sort(function (a, b) { return a.received_at < b.received_at ? 1 : -1; });
      $("mail-count").textContent = String(list.length);
      $("mail-rows").replaceChildren.apply($("mail-rows"), list.map(function (m) {
        const subj = el("button", { type: "button", class: "link", text: m.subject || t("no-subject") });
        subj.addEventListener("click", async function () {
          let raw;
          try { raw = await api("GET", base + "/mailbox/" + encodeURIComponent(m.student_id) + "/" + encodeURIComponent(m.id) + "/raw"); } catch (e) { raw = t("gone"); }
          $("mail-raw").hidden = false;
          $("mail-raw").textContent = raw;
        });
        return el("tr", { "data-testid": "mail-" + m.id }, [
          el("th", { scope: "row", text: m.student }),
          cell(new Date(m.received_at).toLocaleTimeString()),
          cell(m.from + " → " + (m.to || []).join(", ")),
          el("td", {}, [subj]),
          cell(m.port + (m.tls ? " · " + m.tls : " · " + t("no-tls")) + (m.auth_user ? " · AUTH" : "")),
        ]);
      }));
    }
    api("GET", base + "/mailbox").then(function (list) { list.forEach(function (m) { mail.set(m.id, m); }); showMail(); }).catch(function () {});

    $("class-end").addEventListener("click", function () {
      if (confirm(t("confirm-end"))) control("PATCH", "", { ended: true });
    });
    $("export-csv").href = base + "/export.csv";
    $("export-json").href = base + "/export.json";
    $("class-qr").src = base + "/qr.svg";
    $("filter").addEventListener("change", render);
    $("sort").addEventListener("change", render);

    // The live grid: the stream sends the class and every row at once,
    // then each change (Server-Sent Events; the browser reconnects).
    const live = $("live");
    const es = new EventSource(base + "/events");
    es.onopen = function () { live.dataset.state = "on"; live.textContent = t("live"); };
    es.onerror = function () {
      live.dataset.state = "off"; live.textContent = t("reconnecting");
      api("GET", "/api/classroom/session").then(function (s) { if (!s.teacher) location.href = "/teach"; }).catch(function () {});
    };
    es.addEventListener("class", function (ev) { showClass(JSON.parse(ev.data)); });
    es.addEventListener("mail", function (ev) {
      const m = JSON.parse(ev.data);
      mail.set(m.id, m);
      showMail();
    });
    es.addEventListener("row", function (ev) {
      const r = JSON.parse(ev.data);
      rows.set(r.id, r);
      render();
    });
    // "how long ago" moves on by itself.
    setInterval(function () {
      document.querySelectorAll("#rows .ago").forEach(function (s) { s.textContent = ago(s.dataset.time); });
    }, 5000);
  }

  // ---- /join ----------------------------------------------------------
  function joinPage() {
    const form = $("join-form");
    $("join-name").focus();
    if (form.dataset.code) {
      api("GET", "/api/classroom/join/" + encodeURIComponent(form.dataset.code)).then(function (c) {
        $("join-class").textContent = t("joining", c.name);
        if (!c.open) showError("join-error", new Error(c.why));
      }, function (e) { showError("join-error", e); });
    }
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const code = form.dataset.code || ($("join-code") ? $("join-code").value : "");
      try {
        const j = await api("POST", "/api/classroom/join", { code: code, name: $("join-name").value });
        // The token is this browser's place in the class; the lab is the
        // student's own (the page script opens it as any kept lab).
        localStorage.setItem("portlab.class", JSON.stringify({ token: j.token, student: j.student, name: j.name, class: j.class.name }));
        localStorage.setItem("portlab.lab", JSON.stringify(j.lab));
        location.href = j.class.lesson ? "/lessons/" + encodeURIComponent(j.class.lesson) : "/course";
      } catch (e) { showError("join-error", e); }
    });
  }

  function start() {
    if (page === "teach") teachPage().catch(function (e) { showError("login-error", e); $("teach-login").hidden = false; });
    else if (page === "teach-class") dashboard();
    else if (page === "join") joinPage();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
