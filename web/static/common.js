// portlab's shared page helpers, loaded before app.js and teach.js (every
// page's scripts): the JSON API call and the page language's words, one
// home each. They go on window.portlab, which app.js then extends. No
// inline script (the CSP forbids it).
"use strict";

(function () {
  // api calls the JSON API (/api/, the server's); key, a lab's secret or
  // a student's class token, goes as a bearer token. The answer is the
  // parsed JSON, the text of another type, or null for 204. A failure
  // throws an Error whose message is the server's own words when it gave
  // some ({"error": ...}), with status and the parsed body (a policy's
  // "errors") beside it.
  async function api(method, path, payload, key) {
    const init = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (key) init.headers["Authorization"] = "Bearer " + key;
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const res = await fetch(path, init);
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (e) { /* not JSON */ }
      const why = body && body.error ? body.error : "";
      const err = new Error(why || (method + " " + path + ": " + res.status));
      err.status = res.status;
      err.body = body;
      throw err;
    }
    if (res.status === 204) return null;
    const type = res.headers.get("Content-Type") || "";
    return type.includes("json") ? res.json() : res.text();
  }

  // t is the page language's text for a catalog key (internal/i18n): the
  // page carries its scripts' strings in data-ui on <body>. %s and %d
  // take the arguments in order, %% is a percent sign, and a message with
  // plural forms picks one by its first argument as the Go catalog does:
  // an exact "=N" form, else the browser's CLDR rules (Intl.PluralRules),
  // else "other". A key the page lacks comes back as itself.
  let ui = null;
  function t(key) {
    if (!ui) {
      try { ui = JSON.parse(document.body.dataset.ui || "{}"); } catch (e) { ui = {}; }
    }
    const args = Array.prototype.slice.call(arguments, 1);
    let m = ui[key];
    if (m && typeof m === "object") {
      const n = Number(args[0]);
      m = m["=" + n] || m[new Intl.PluralRules(document.documentElement.lang || "en").select(n)] || m.other;
    }
    if (typeof m !== "string") return key;
    let i = 0;
    return m.replace(/%[sd%]/g, function (v) { return v === "%%" ? "%" : String(args[i++]); });
  }

  window.portlab = Object.assign(window.portlab || {}, { api: api, t: t });
})();
