// The status page (GET /status/page): one HTML document, no build step, no external asset, that reads
// GET /status every few seconds and draws it. The document holds no data, so it is served to anyone; the
// data answers an operator credential (the page asks for a key when /status says 401 or 403 and keeps it
// for the tab's session) or, on --metrics-port, anyone who reaches that private port.
import { createHash } from "node:crypto";

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; padding: 20px 28px; max-width: 1280px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 26px 0 8px; }
.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: 12px; color: var(--muted); }
td.num { font-variant-numeric: tabular-nums; }
.state { font-weight: 600; white-space: nowrap; }
td.num, .engine td:first-child { white-space: nowrap; }
.state::before { content: "\\25CF  "; }
.ready { color: var(--ok); } .loading { color: var(--warn); } .unavailable { color: var(--bad); }
.deployment td { border-bottom: none; padding-top: 12px; }
.engine td:first-child { padding-left: 18px; }
.bar { display: inline-block; width: 120px; height: 8px; background: var(--line); border-radius: 4px; vertical-align: middle; margin-right: 6px; }
.bar span { display: block; height: 8px; border-radius: 4px; background: var(--ok); }
.bar span.high { background: var(--warn); } .bar span.full { background: var(--bad); }
#banner { padding: 8px 12px; border-radius: 6px; margin: 12px 0; display: none; }
#banner.shown { display: block; background: #fff8c5; color: #3b2300; }
form { margin: 12px 0; display: none; } form.shown { display: block; }
input { font: inherit; padding: 4px 6px; width: 320px; }
`;

const SCRIPT = `
"use strict";
const statusUrl = location.pathname.replace(/\\/page\\/?$/, "") + location.search;
const refreshMs = Math.max(1000, Number(new URLSearchParams(location.search).get("refresh") || 3) * 1000);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
};
const ago = (iso) => {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
};
const pct = (x) => (x == null ? "–" : Math.round(x * 100) + " %");
const num = (x) => (x == null ? "–" : String(x));
const state = (s) => el("span", { class: "state " + s }, s);
const bar = (used, limit) => {
  const ratio = limit > 0 ? Math.min(1, used / limit) : 0;
  const fill = el("span", { class: ratio >= 1 ? "full" : ratio >= 0.8 ? "high" : "" });
  fill.style.width = Math.round(ratio * 100) + "%"; // CSSOM, which the policy allows (a style attribute it would not)
  return el("span", {}, el("span", { class: "bar" }, fill), used + " / " + limit);
};
const limitText = (l) => l.what + (l.per ? " per " + l.per : " in flight");
function row(cells, attrs) {
  return el("tr", attrs || {}, ...cells.map((c) => (c instanceof Node && c.nodeName === "TD" ? c : el("td", {}, c))));
}
function drawDeployments(list) {
  const body = $("deployments");
  body.replaceChildren();
  for (const d of list) {
    const limits = d.limits.map((l) => el("div", {}, limitText(l) + ": ", bar(l.used, l.limit)));
    body.append(
      row(
        [
          el("strong", {}, d.name),
          state(d.state),
          d.operations.join(", "),
          el("span", {}, d.inFlight + (d.maxConcurrent != null ? " / " + d.maxConcurrent : "") + (d.queued ? " (" + d.queued + " queued)" : "")),
          d.routing || "",
          el("div", {}, ...limits),
          d.reason ? el("span", { class: "muted" }, d.reason) : "",
        ].map((c) => el("td", {}, c)),
        { class: "deployment", "data-deployment": d.name },
      ),
    );
    for (const e of d.engines) {
      const load = e.load;
      body.append(
        row(
          [
            e.replica,
            state(e.state),
            "seen " + ago(e.lastSeen),
            String(e.inFlight),
            load ? load.engine + ": " + num(load.waiting) + " waiting, " + num(load.running) + " running" : "no engine metrics",
            load ? "KV " + pct(load.kvCacheUsage) + ", prefix hits " + pct(load.prefixCacheHitRatio) : "",
            e.reason ? el("span", { class: "muted" }, e.reason) : "",
          ].map((c) => el("td", {}, c)),
          { class: "engine", "data-replica": e.replica, "data-state": e.state },
        ),
      );
    }
  }
}
function drawConsumers(list) {
  const body = $("consumers");
  body.replaceChildren();
  if (list.length === 0) body.append(row([el("td", { colspan: "3", class: "muted" }, "No consumers are configured.")]));
  for (const c of list) {
    const limits = c.limits.length ? c.limits.map((l) => el("div", {}, limitText(l) + ": ", bar(l.used, l.limit))) : ["no limits"];
    body.append(row([el("strong", {}, c.name), el("div", {}, ...limits), c.deployments ? c.deployments.join(", ") : "all"], { "data-consumer": c.name }));
  }
}
function drawErrors(recent) {
  $("errors-window").textContent = Math.round(recent.windowSeconds / 60) + " minutes";
  const body = $("errors");
  body.replaceChildren();
  if (recent.byCode.length === 0) body.append(row([el("td", { colspan: "4", class: "muted" }, "None.")]));
  for (const e of recent.byCode) body.append(row([e.code, String(e.status), el("span", { class: "num" }, String(e.count)), ago(e.lastAt)], { "data-code": e.code }));
}
function draw(s) {
  const g = s.gateway;
  $("meta").textContent =
    "version " + g.version + " · pid " + g.pid + " · up " + g.uptimeSeconds + " s · store " + g.store.kind + " (" + g.store.location + ")" +
    (g.storeAnswered ? "" : " — not answering") + (g.draining ? " · draining" : "") + " · updated " + new Date(s.generatedAt).toLocaleTimeString();
  drawDeployments(s.deployments);
  drawConsumers(s.consumers);
  drawErrors(s.recentErrors);
  document.body.dataset.loaded = "true";
}
function banner(text) {
  $("banner").textContent = text;
  $("banner").className = text ? "shown" : "";
}
async function refresh() {
  const headers = { accept: "application/json" };
  const key = sessionStorage.getItem("gateway-key");
  if (key) headers["api-key"] = key;
  try {
    const res = await fetch(statusUrl, { headers, cache: "no-store" });
    if (res.status === 401 || res.status === 403) {
      $("key-form").className = "shown";
      const body = await res.json().catch(() => ({}));
      banner((body.error && body.error.message) || "An operator key is needed.");
      return;
    }
    if (!res.ok) return banner("GET /status answered " + res.status + ".");
    $("key-form").className = "";
    banner("");
    draw(await res.json());
  } catch (err) {
    banner("The gateway does not answer: " + err.message);
  }
}
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("gateway-key", $("key").value);
  $("key").value = "";
  void refresh();
});
void refresh();
setInterval(refresh, refreshMs);
`;

const BODY = `
<h1>azure-openai-proxy</h1>
<div class="meta" id="meta">Loading…</div>
<div id="banner" role="status"></div>
<form id="key-form"><label>Operator key (a key of --api-key) <input id="key" type="password" autocomplete="off"></label> <button>Show</button></form>
<h2>Deployments and engines</h2>
<table><thead><tr><th>Deployment / engine</th><th>State</th><th>Serves / last seen</th><th>In flight</th><th>Routing / engine queue</th><th>Limits / engine cache</th><th></th></tr></thead><tbody id="deployments"></tbody></table>
<h2>Consumers</h2>
<table><thead><tr><th>Consumer</th><th>Usage against limits</th><th>Deployments</th></tr></thead><tbody id="consumers"></tbody></table>
<h2>Errors in the last <span id="errors-window">15 minutes</span></h2>
<table><thead><tr><th>Code</th><th>Status</th><th>Count</th><th>Last</th></tr></thead><tbody id="errors"></tbody></table>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page and the Content-Security-Policy that lets only its own script and style run and fetch only
 * from the gateway. */
export const STATUS_PAGE = {
  html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>azure-openai-proxy status</title><style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`,
  contentSecurityPolicy: `default-src 'none'; connect-src 'self'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; img-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
};
