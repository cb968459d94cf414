// kgit ui: renders the JSON of /api/PAGE with DOM calls and textContent only (never
// innerHTML), and follows it over server-sent events (/api/stream?path=/PAGE).
"use strict";

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // CSSOM: allowed by the page's CSP
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const enc = encodeURIComponent;
const short = (sha) => (sha || "").slice(0, 12);
function badge(text, cls) { return h("span", { class: "badge " + (cls || text) }, text || "Unknown"); }
function ago(t) {
  if (!t || t.startsWith("0001")) return "";
  let s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.floor(s / 60) + "m";
  if (s < 172800) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}
function copyable(cmd) {
  return h("span", { class: "copy" }, h("code", {}, cmd),
    h("button", { title: "copy the command", onclick: () => navigator.clipboard && navigator.clipboard.writeText(cmd) }, "copy"));
}
function appLink(name) { return "/apps/" + enc(name); }
function objLink(app, kind, name) { return appLink(app) + "/objects/" + enc(kind) + "/" + enc(name); }
function tabs(app, on) {
  const t = [["", "Tree"], ["/history", "History"], ["/diff", "Diff"], ["/events", "Events"]];
  return h("nav", { class: "tabs" }, t.map(([p, label]) => h("a", { href: appLink(app) + p, class: p === on ? "on" : "" }, label)));
}

// ---- pages ----

function appsPage(d) {
  const rows = d.apps.map((a) => h("tr", { "data-app": a.name },
    h("td", {}, h("a", { href: appLink(a.name) }, a.name)),
    h("td", {}, h("div", { class: "mono" }, a.repo || "unknown"), h("div", { class: "muted" }, (a.path || "/") + " @ " + (a.ref || "default branch"))),
    h("td", {}, h("span", { class: "mono" }, short(a.commit)), " ", h("span", { class: "muted" }, a.subject)),
    h("td", {}, a.head ? [h("span", { class: "mono" }, short(a.head)), " ", a.behind > 0 ? h("b", {}, a.behind + " behind") : a.behind === 0 ? h("span", { class: "muted" }, "up to date") : ""] : h("span", { class: "muted" }, "unknown")),
    h("td", {}, badge(a.sync), a.syncError ? h("div", { class: "muted", title: a.syncError }, "why?") : null),
    h("td", {}, badge(a.health)),
    h("td", {}, (a.overrides || []).map((o) => h("div", {}, badge(o, "override")))),
    h("td", {}, a.lastSync ? [h("div", {}, a.lastSync.result), h("div", { class: "muted" }, ago(a.lastSync.time) + " ago")] : h("span", { class: "muted" }, "none on this machine")),
    h("td", { class: "pods" }, a.podsReady + "/" + a.podsDesired)));
  return [h("h1", {}, "Apps ", h("span", { class: "muted" }, "(" + d.apps.length + ")")),
    d.apps.length ? h("table", { id: "apps" }, h("tr", {}, ["App", "Repository · path @ branch", "Deployed", "Head", "Sync", "Health", "Overrides", "Last sync", "Pods"].map((c) => h("th", {}, c))), rows)
      : h("p", { class: "muted" }, "No kgit app on this backend.")];
}

function strip(a) {
  const cell = (label, ...v) => h("div", {}, h("span", { class: "label" }, label), v);
  return h("div", { class: "strip" },
    cell("Health", badge(a.health)),
    cell("Sync", badge(a.sync), a.syncError ? h("div", { class: "muted" }, a.syncError) : null),
    cell("Deployed", h("span", { class: "mono" }, short(a.commit)), " ", a.subject),
    cell("Head", a.head ? [h("span", { class: "mono" }, short(a.head)), " ", a.behind > 0 ? a.behind + " behind" : a.behind === 0 ? "up to date" : ""] : "unknown"),
    cell("Last sync", a.lastSync ? a.lastSync.result + " · " + ago(a.lastSync.time) + " ago" : "none on this machine"),
    cell("Pods", a.podsReady + "/" + a.podsDesired + " ready"),
    cell("Override", (a.overrides || []).length ? a.overrides.map((o) => badge(o, "override")) : "none"),
    cell("Source", h("span", { class: "mono" }, a.repo || "unknown"), " ", a.path || "/", " @ ", a.ref || "default branch"));
}

function rolloutBar(n) {
  const w = (x) => (n.desired ? Math.min(100, (100 * x) / n.desired) : 0) + "%";
  return h("div", { class: "rollout", "data-deploy": n.name },
    h("b", {}, n.name), " ", badge(n.health),
    h("div", { class: "bar", title: "available / ready / updated of desired" },
      h("i", { class: "avail", style: "width:" + w(n.available) }),
      h("i", { class: "ready", style: "width:" + w(Math.max(0, n.ready - n.available)) }),
      h("i", { class: "upd", style: "width:" + w(Math.max(0, n.updated - n.ready)) })),
    h("span", { class: "facts" }, h("span", {}, "desired " + n.desired), h("span", {}, "updated " + n.updated), h("span", {}, "ready " + n.ready), h("span", {}, "available " + n.available), n.revision ? h("span", {}, "revision " + n.revision) : null),
    n.message ? h("div", { class: "muted" }, n.message) : null);
}

function facts(n) {
  const f = [];
  switch (n.kind) {
    case "Deployment": case "StatefulSet": case "DaemonSet":
      f.push(n.ready + "/" + n.desired + " ready", "updated " + n.updated); if (n.revision) f.push("revision " + n.revision); break;
    case "ReplicaSet":
      f.push("revision " + n.revision, "commit " + short(n.commit), n.ready + "/" + n.desired + " ready"); if (n.hash) f.push("hash " + n.hash); break;
    case "Pod":
      f.push(n.phase + (n.terminating ? " (terminating)" : ""), n.podReady ? "ready" : "not ready", n.restarts + " restarts", "age " + ago(n.created), n.address || "no address"); break;
    case "Service":
      f.push(n.type, n.address, n.ports); f.push((n.endpoints || []).length ? "endpoints " + n.endpoints.join(", ") : "no endpoints"); break;
    case "ConfigMap": case "Secret":
      f.push((n.usedBy || []).length ? "used by " + n.usedBy.join(", ") : "used by no pod"); break;
  }
  if (n.override) f.push("override: " + n.override);
  return h("span", { class: "facts" }, f.filter(Boolean).map((x) => h("span", {}, x)));
}

function treeNode(app, n, kids) {
  const state = n.kind === "Pod" ? n.phase + "/" + (n.podReady ? "ready" : "not-ready") + "/" + n.restarts : n.health;
  return h("div", { class: "node", "data-kind": n.kind, "data-name": n.name, "data-state": state },
    h("span", { class: "kind" }, n.kind), h("a", { href: objLink(app, n.kind, n.name), class: n.terminating ? "gone" : "" }, n.name), " ",
    n.health ? badge(n.health) : null, facts(n), n.message && n.kind !== "Deployment" ? h("div", { class: "muted" }, n.message) : null,
    (kids.get(n.kind + "/" + n.name) || []).length ? h("div", { class: "kids" }, kids.get(n.kind + "/" + n.name).map((k) => treeNode(app, k, kids))) : null);
}

function appPage(d) {
  const a = d.app, nodes = d.nodes || [];
  const kids = new Map(), byKey = new Set(nodes.map((n) => n.kind + "/" + n.name));
  const roots = [];
  for (const n of nodes) {
    if (n.parent && byKey.has(n.parent)) { if (!kids.has(n.parent)) kids.set(n.parent, []); kids.get(n.parent).push(n); }
    else roots.push(n);
  }
  const deploys = nodes.filter((n) => n.kind === "Deployment" || n.kind === "StatefulSet" || n.kind === "DaemonSet");
  return [h("h1", {}, a.name), tabs(a.name, ""), strip(a),
    deploys.length ? [h("h2", {}, "Rollouts"), deploys.map(rolloutBar)] : null,
    h("h2", {}, "Resources"), h("div", { class: "tree", id: "tree" }, roots.length ? roots.map((n) => treeNode(a.name, n, kids)) : h("p", { class: "muted" }, "No objects."))];
}

function historyPage(d) {
  const a = d.app;
  return [h("h1", {}, a.name, " · history"), tabs(a.name, "/history"), strip(a),
    (d.history || []).length ? h("table", { id: "history" }, h("tr", {}, ["Deployment", "Revision", "Commit", "Subject", "Author", "Applied", "Result", "Go back with"].map((c) => h("th", {}, c))),
      d.history.map((r) => h("tr", { "data-commit": r.commit, "data-revision": r.deployment + "/" + r.revision },
        h("td", {}, h("a", { href: objLink(a.name, "Deployment", r.deployment) }, r.deployment)),
        h("td", {}, String(r.revision), r.current ? h("span", { class: "muted" }, " (current)") : ""),
        h("td", { class: "mono" }, short(r.commit)), h("td", {}, r.subject || "<unknown>"), h("td", {}, r.author || ""),
        h("td", {}, ago(r.applied) + " ago"),
        h("td", { class: "result" + (/failed/.test(r.result || "") ? " failed" : "") }, r.result || h("span", { class: "muted", title: "no sync or change that made this revision is in this machine's journal" }, "not journalled here")),
        h("td", {}, r.current ? "" : [copyable("kgit rollback deploy/" + r.deployment + " --to " + short(r.commit) + " --app " + a.name),
          copyable("kgit rollout undo deploy/" + r.deployment + " --to-revision " + r.revision + " --app " + a.name)]))))
      : h("p", { class: "muted" }, "No rollout history."),
    a.commit ? h("p", {}, "Roll the whole app back to a commit: ", copyable("kgit rollback --to SHA --app " + a.name)) : null];
}

function unified(text) {
  return h("pre", { class: "diff" }, (text || "").split("\n").map((l) =>
    h("span", { class: l.startsWith("+") && !l.startsWith("+++") ? "add" : l.startsWith("-") && !l.startsWith("---") ? "del" : l.startsWith("@@") ? "hunk" : "" }, l || " ")));
}

function diffPage(d) {
  const a = d.app;
  return [h("h1", {}, a.name, " · diff"), tabs(a.name, "/diff"), strip(a),
    a.sync === "Unknown" ? h("p", { class: "error" }, "The desired state could not be read: " + (a.syncError || "no source recorded for this app")) :
      (d.diffs || []).length ? d.diffs.map((x) => [h("h2", {}, x.name, " ", badge(x.action, "OutOfSync")), unified(x.unified)])
        : h("p", {}, "No differences: the live objects match ", h("span", { class: "mono" }, short(a.head)), "."),
    h("p", { class: "muted" }, "Apply with ", copyable("kgit sync --app " + a.name + (a.repo ? " --repo " + a.repo : "") + (a.path ? " --path " + a.path : "")))];
}

function eventsPage(d) {
  const q = new URLSearchParams(location.search);
  const input = (name, ph) => h("input", { name, placeholder: ph, value: q.get(name) || "", onchange: (e) => setQuery(name, e.target.value) });
  const warn = h("input", { type: "checkbox", onchange: (e) => setQuery("warning", e.target.checked ? "1" : "") });
  warn.checked = q.get("warning") === "1";
  return [d.app ? [h("h1", {}, d.app.name, " · events"), tabs(d.app.name, "/events")] : h("h1", {}, "Events"),
    h("div", { class: "filters" }, d.app ? null : input("app", "app"), input("kind", "kind (deployment, pod…)"), input("reason", "reason"), input("q", "text"), h("label", {}, warn, " warnings only")),
    (d.events || []).length ? h("table", { id: "events" }, h("tr", {}, ["Age", "App", "Reason", "Object", "Message"].map((c) => h("th", {}, c))),
      d.events.map((e) => h("tr", { class: e.warning ? "warn" : "" }, h("td", {}, ago(e.time)), h("td", {}, e.app), h("td", {}, e.warning ? badge(e.reason, "warning") : e.reason), h("td", { class: "mono" }, e.object), h("td", {}, e.message))))
      : h("p", { class: "muted" }, "No events.")];
}

let logsState = null;
function objectPage(d) {
  const a = d.app, o = d.object, n = o.node;
  const out = [h("h1", {}, h("span", { class: "kind" }, n.kind), n.name), tabs(a.name, null),
    h("p", {}, "App ", h("a", { href: appLink(a.name) }, a.name), " ", n.health ? badge(n.health) : null, facts(n)),
    h("h2", {}, "Summary"), h("pre", { id: "describe" }, o.describe),
    h("div", { class: "grid2" }, h("div", {}, h("h2", {}, "Live"), h("pre", {}, o.live || "(not live)")), h("div", {}, h("h2", {}, "Desired (git)"), h("pre", {}, o.desired || "(not in git at the head)"))),
    h("h2", {}, "Diff"), o.diff ? unified(o.diff) : h("p", { class: "muted" }, o.desired ? "No difference." : "Nothing to compare."),
    h("h2", {}, "Events"), (o.events || []).length ? h("table", {}, o.events.map((e) => h("tr", { class: e.warning ? "warn" : "" }, h("td", {}, ago(e.time)), h("td", {}, e.reason), h("td", {}, e.message)))) : h("p", { class: "muted" }, "No events.")];
  if (n.kind === "Pod") out.push(h("h2", {}, "Logs"), logsPanel(a.name, n));
  return out;
}

function logsPanel(app, pod) {
  if (!logsState || logsState.pod !== pod.name) logsState = { pod: pod.name, container: (pod.containers || [])[0] || "", previous: false, follow: false, el: null };
  const st = logsState;
  if (!st.el) {
    const pre = h("pre", { id: "logs" }, "");
    const sel = h("select", { onchange: (e) => { st.container = e.target.value; load(); } }, (pod.containers || []).map((c) => h("option", { value: c }, c)));
    sel.value = st.container;
    const prev = h("input", { type: "checkbox", onchange: (e) => { st.previous = e.target.checked; load(); } });
    const fol = h("input", { type: "checkbox", onchange: (e) => { st.follow = e.target.checked; load(); } });
    let ctl = null;
    async function load() {
      if (ctl) ctl.abort();
      ctl = new AbortController();
      pre.textContent = "";
      const u = "/api/logs/" + enc(app) + "/" + enc(pod.name) + "?container=" + enc(st.container) + (st.previous ? "&previous=1" : "") + (st.follow ? "&follow=1" : "&tail=500");
      try {
        const r = await fetch(u, { signal: ctl.signal });
        const rd = r.body.getReader(), dec = new TextDecoder();
        for (;;) { const { done, value } = await rd.read(); if (done) break; pre.append(dec.decode(value, { stream: true })); if (st.follow) pre.scrollTop = pre.scrollHeight; }
      } catch (e) { if (e.name !== "AbortError") pre.append("\n(" + e + ")"); }
    }
    st.el = h("div", {}, h("div", { class: "filters" }, h("label", {}, "container ", sel), h("label", {}, prev, " previous"), h("label", {}, fol, " follow")), pre);
    load();
  }
  return st.el;
}

// ---- routing and live updates ----

function route(path) {
  const p = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (p[0] === "events") return eventsPage;
  if (p[0] !== "apps") return null;
  if (p.length === 1) return appsPage;
  if (p.length === 2) return appPage;
  if (p[2] === "history") return historyPage;
  if (p[2] === "diff") return diffPage;
  if (p[2] === "events") return eventsPage;
  if (p[2] === "objects" && p.length === 5) return objectPage;
  return null;
}

let source = null;
function follow() {
  const main = document.getElementById("main"), live = document.getElementById("live");
  const page = route(location.pathname);
  if (!page) { main.replaceChildren(h("p", { class: "error" }, "No such page.")); return; }
  if (source) source.close();
  source = new EventSource("/api/stream?path=" + enc(location.pathname + location.search));
  source.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  source.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; };
  source.onmessage = (ev) => {
    const d = JSON.parse(ev.data);
    live.textContent = d.meta ? "live · read " + new Date(d.meta.time).toLocaleTimeString() + " · " + d.meta.backend : "live";
    const y = window.scrollY;
    main.replaceChildren(...[d.error ? h("p", { class: "error" }, d.error) : page(d)].flat(Infinity).filter(Boolean));
    window.scrollTo(0, y);
    document.body.dataset.updated = String(Date.now());
  };
}

function setQuery(name, value) {
  const q = new URLSearchParams(location.search);
  if (value) q.set(name, value); else q.delete(name);
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
  follow();
}

follow();
