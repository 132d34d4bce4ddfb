-- The page GET /docs serves, in three parts that routes/docs.lua answers
-- each at its own path: the page (html), its script (script: it reads
-- /openapi.json and lists each operation with its parameters, body and
-- answers, with a form that sends the request and shows the reply) and its
-- style sheet (style). Every link and request is relative to the page, so
-- it works where a proxy serves the app under a path prefix (/app/docs).
-- Nothing comes from elsewhere, and nothing is inline, so the page's
-- Content-Security-Policy allows only its own origin; the script puts text
-- in the page only as text, never as HTML.
local M = {}

M.html = [==[<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API</title>
<link rel="stylesheet" href="docs/app.css">
<script src="docs/app.js" defer></script>
</head>
<body>
<h1 id="title">API</h1>
<p id="description"></p>
<p>The document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
<main id="operations"><p>Reading openapi.json…</p></main>
</body>
</html>
]==]

M.style = [==[
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1d232a; }
h1 { margin-bottom: .2rem; }
details { border: 1px solid #ccd3da; border-radius: 6px; margin: .5rem 0; }
summary { cursor: pointer; padding: .5rem .75rem; }
details > div { padding: 0 .75rem .75rem; }
.method { display: inline-block; min-width: 4.2rem; font-weight: 700; }
.get .method { color: #0b6bcb; } .post .method { color: #17803d; }
code, pre, textarea, input { font: 13px/1.4 ui-monospace, monospace; }
label { display: block; margin: .35rem 0; }
input, textarea { width: 100%; box-sizing: border-box; }
pre { background: #f4f6f8; padding: .5rem; overflow: auto; white-space: pre-wrap; }
table { border-collapse: collapse; } td { padding: .1rem .6rem .1rem 0; vertical-align: top; }
.error { color: #b3261e; }
]==]

M.script = [==[
"use strict";
const METHODS = ["get", "head", "post", "put", "patch", "delete"];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function answers(op) {
  const rows = Object.entries(op.responses || {}).sort(([a], [b]) => a.localeCompare(b))
    .map(([status, r]) => el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, r.description || "")));
  return el("table", {}, ...rows);
}

// The request's URL, relative to the page (path "/health" is "./health"):
// behind a proxy that serves the app under a prefix (/app/docs), requests
// go to /app/health as the page's own links do, not to the host's /health.
function target(path, inputs) {
  const query = new URLSearchParams();
  for (const [p, input] of inputs) {
    if (input.value === "") continue;
    if (p.in === "path") path = path.replace("{" + p.name + "}", encodeURIComponent(input.value));
    else if (p.in === "query") query.append(p.name, input.value);
  }
  const q = query.toString();
  return "." + path + (q ? "?" + q : "");
}

async function send(method, url, body, out) {
  const opts = { method: method.toUpperCase(), headers: {} };
  if (body && body.value.trim() !== "") {
    opts.body = body.value;
    opts.headers["Content-Type"] = "application/json";
  }
  out.textContent = method.toUpperCase() + " " + url + " …";
  try {
    const res = await fetch(url, opts);
    let text = await res.text();
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: as it came */ }
    out.textContent = res.status + " " + res.statusText + "  (X-Request-Id: " +
      (res.headers.get("X-Request-Id") || "none") + ")\n\n" + text;
  } catch (e) {
    out.textContent = "the request failed: " + e;
  }
}

function operation(path, method, op) {
  const box = el("div");
  if (op.description) box.append(el("p", {}, op.description));
  const form = el("form");
  const inputs = [];
  for (const p of op.parameters || []) {
    const input = el("input", { name: p.name });
    const s = p.schema || {};
    if (p.example !== undefined) input.value = String(p.example);
    else if (s.default !== undefined) input.placeholder = "default " + s.default;
    if (p.required) input.required = true;
    inputs.push([p, input]);
    form.append(el("label", {}, el("code", {}, p.name), " (" + p.in + (p.required ? ", required" : "") +
      ") " + (p.description || ""), input));
  }
  let body = null;
  if (op.requestBody) {
    body = el("textarea", { rows: "4", placeholder: "JSON body" + (op.requestBody.required ? "" : " (optional)") });
    form.append(el("label", {}, "body: " + (op.requestBody.description || ""), body));
  }
  const out = el("pre", { "aria-live": "polite" });
  form.append(el("button", { type: "submit" }, "Send"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    send(method, target(path, inputs), body, out);
  });
  box.append(el("h4", {}, "Answers"), answers(op), form, out);
  return el("details", { class: method },
    el("summary", {}, el("span", { class: "method" }, method.toUpperCase()), el("code", {}, path),
      " — " + (op.summary || "")),
    box);
}

async function main() {
  const list = document.getElementById("operations");
  let doc;
  try {
    const res = await fetch("openapi.json");
    if (!res.ok) throw new Error("HTTP " + res.status);
    doc = await res.json();
  } catch (e) {
    list.replaceChildren(el("p", { class: "error" }, "Could not read openapi.json: " + e));
    return;
  }
  document.title = doc.info.title + " — API";
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("description").textContent = doc.info.description || "";
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b)))
    for (const m of METHODS) if (item[m]) ops.push(operation(path, m, item[m]));
  list.replaceChildren(...ops);
}

main();
]==]

return M
