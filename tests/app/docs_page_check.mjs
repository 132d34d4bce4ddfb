// Runs the script of the /docs page (the file named second: what GET
// /docs/app.js served) against the server at the URL named first, in a
// small stand-in for the browser's DOM: it must list every operation of
// /openapi.json and send requests from its forms (GET /health?deep=1, POST
// /save-data with a body, GET /get-data/{id} with the id that answered).
// It does so twice: served at /docs, and behind a proxy that serves the app
// under /app (an ALB or ingress rule /app/*, the prefix taken off before the
// server sees the path), where every request the page sends must stay under
// /app. Exits 1 on the first difference, saying what it was.
import { readFileSync } from "node:fs";
import vm from "node:vm";

const [base, scriptFile] = process.argv.slice(2);
if (!base || !scriptFile) {
  console.error("usage: node docs_page_check.mjs BASE_URL PAGE_SCRIPT");
  process.exit(2);
}

function fail(message) {
  console.error("docs page: " + message);
  process.exit(1);
}

// Just what the page uses of an element.
class Element {
  constructor(tag) {
    this.tag = tag.toLowerCase();
    this.attrs = {};
    this.children = [];
    this.listeners = {};
    this.text = null;
    this.value = "";
    this.placeholder = "";
    this.required = false;
  }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  append(...kids) { for (const k of kids) this.children.push(typeof k === "string" ? { text: k } : k); }
  replaceChildren(...kids) { this.children = []; this.text = null; this.append(...kids); }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  get textContent() {
    return this.text !== null ? this.text : this.children.map((c) => (c instanceof Element ? c.textContent : c.text)).join("");
  }
  set textContent(v) { this.text = String(v); this.children = []; }
  find(pred) {
    if (pred(this)) return this;
    for (const c of this.children) {
      const hit = c instanceof Element && c.find(pred);
      if (hit) return hit;
    }
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, test) {
  for (let i = 0; i < 200; i++) {
    if (test()) return;
    await sleep(50);
  }
  fail("timed out waiting for " + what);
}

const doc = await (await fetch(base + "/openapi.json")).json();
const expected = [];
for (const [path, item] of Object.entries(doc.paths))
  for (const m of Object.keys(item)) expected.push(m.toUpperCase() + " " + path);
expected.sort();

// Runs the page served at prefix + "/docs" ("" for none).
async function check(prefix) {
  const byId = { operations: new Element("main"), title: new Element("h1"), description: new Element("p") };
  const document = { title: "", createElement: (t) => new Element(t), getElementById: (id) => byId[id] };
  // The page's fetch, from where the page is: base + prefix + "/docs". The
  // proxy passes on only what is under the prefix, without it.
  const pageFetch = (url, opts) => {
    const at = new URL(url, base + prefix + "/docs");
    if (!at.pathname.startsWith(prefix + "/"))
      fail(`served at ${prefix}/docs, the page requested ${at.pathname}: outside ${prefix}/, which the proxy does not serve`);
    return fetch(base + at.pathname.slice(prefix.length) + at.search, opts);
  };
  vm.runInNewContext(readFileSync(scriptFile, "utf8"), { document, fetch: pageFetch, URLSearchParams, console });

  const list = byId.operations;
  await until("the operations", () => list.children.some((c) => c instanceof Element && c.tag === "details"));
  if (document.title !== doc.info.title + " — API") fail("title " + JSON.stringify(document.title));
  const shown = list.children.map((d) => {
    const summary = d.children[0];
    return summary.children[0].textContent + " " + summary.children[1].textContent;
  }).sort();
  if (JSON.stringify(shown) !== JSON.stringify(expected))
    fail("lists " + JSON.stringify(shown) + ", the document has " + JSON.stringify(expected));

  // Fills an operation's form (inputs by name, the body) and submits it;
  // returns the reply's text once it is there.
  async function send(key, values, body) {
    const d = list.children.find((c) => {
      const s = c.children[0];
      return s.children[0].textContent + " " + s.children[1].textContent === key;
    });
    const form = d.find((e) => e.tag === "form");
    for (const [name, v] of Object.entries(values)) {
      const input = form.find((e) => e.tag === "input" && e.attrs.name === name);
      if (!input) fail(key + ": no input " + name);
      input.value = v;
    }
    if (body !== undefined) form.find((e) => e.tag === "textarea").value = body;
    const out = d.find((e) => e.tag === "pre");
    form.listeners.submit[0]({ preventDefault() {} });
    await until(key + "'s reply", () => /^\d{3} /.test(out.textContent));
    return out.textContent;
  }

  const health = await send("GET /health", {});
  if (!health.startsWith("200 ") || !health.includes('"checks"')) fail("GET /health?deep=1 showed " + health);
  const saved = await send("POST /save-data", {}, '{"user_id": "docs-page", "n": 1}');
  if (!saved.startsWith("201 ")) fail("POST /save-data showed " + saved);
  const id = JSON.parse(saved.slice(saved.indexOf("\n\n") + 2)).id;
  const got = await send("GET /get-data/{id}", { id });
  if (!got.startsWith("200 ") || !got.includes('"docs-page"')) fail("GET /get-data/" + id + " showed " + got);
  console.log(`docs page at ${prefix}/docs: ${shown.length} operations listed; GET /health, POST /save-data and GET /get-data/{id} sent from their forms`);
}

await check("");
await check("/app");
