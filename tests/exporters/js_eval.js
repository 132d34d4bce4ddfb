// One long-lived node for the exporter tests' JavaScript checks (lib.sh's
// `js`, and jsget over it): a node started for each check costs a few
// hundred milliseconds, and a test polling /-/status makes hundreds.
//
// Requests on stdin, answers on stdout, every field ended by a NUL byte:
//   <function body> <n> <arg 1> ... <arg n>   ->   <0|1> <text>
// The body runs as a function of `args` (the n strings); the text is what
// it returns (an object as JSON), or, with 1, why it threw.
"use strict";

const compiled = new Map();
let pending = Buffer.alloc(0);
let fields = [];

function run(body, args) {
  let fn = compiled.get(body);
  if (!fn) {
    fn = new Function("args", body);
    compiled.set(body, fn);
  }
  const v = fn(args);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function answer(status, text) {
  process.stdout.write(status + "\0" + text.replace(/\0/g, "\\0") + "\0");
}

// A request is complete once its body, its count and that many args arrived.
function serve() {
  while (fields.length >= 2 && fields.length >= 2 + Number(fields[1])) {
    const n = Number(fields[1]);
    const [body] = fields;
    const args = fields.slice(2, 2 + n);
    fields = fields.slice(2 + n);
    try {
      answer(0, run(body, args));
    } catch (e) {
      answer(1, String((e && e.stack) || e));
    }
  }
}

process.stdin.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  let at;
  while ((at = pending.indexOf(0)) >= 0) {
    fields.push(pending.subarray(0, at).toString("utf8"));
    pending = pending.subarray(at + 1);
  }
  serve();
});
