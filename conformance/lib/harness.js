'use strict';
// A small sequential test runner. Tests share state on purpose (an install
// creates the conversation a later proactive send uses), so they run in the
// order they were declared, each with its own deadline. The caller prints
// the summary line.

const util = require('node:util');

class Harness {
  constructor({ timeoutMs = 20000, log = console.log.bind(console) } = {}) {
    this.tests = [];
    this.timeoutMs = timeoutMs;
    this.log = log;
  }

  // test registers fn under name. fn receives a context whose note() adds
  // a line printed under the test's result (observations worth reporting
  // that are not failures).
  test(name, fn, { timeoutMs } = {}) {
    this.tests.push({ name, fn, timeoutMs: timeoutMs ?? this.timeoutMs });
  }

  async run() {
    let passed = 0;
    let failed = 0;
    const failures = [];
    for (const t of this.tests) {
      const notes = [];
      const ctx = { note: (line) => notes.push(String(line)) };
      const started = Date.now();
      const restore = captureConsole();
      let timer;
      try {
        await Promise.race([
          Promise.resolve().then(() => t.fn(ctx)),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs);
          }),
        ]);
        restore();
        passed++;
        this.log(`ok   ${t.name} (${Date.now() - started} ms)`);
      } catch (err) {
        const captured = restore();
        failed++;
        failures.push(t.name);
        this.log(`FAIL ${t.name} (${Date.now() - started} ms)`);
        this.log(indent(describe(err)));
        if (captured.length > 0) {
          this.log('     output of the SDKs during this test (last lines):');
          this.log(indent(captured.slice(-30).join('\n')));
        }
      } finally {
        clearTimeout(timer);
      }
      for (const n of notes) this.log(`     note: ${n}`);
    }
    return { passed, failed, failures };
  }
}

// captureConsole diverts console output (the SDKs log every rejected token
// with a stack trace) into a buffer; the returned function restores the
// console and returns the lines, which are shown only when a test fails.
function captureConsole() {
  const names = ['log', 'info', 'warn', 'error', 'debug', 'trace'];
  const saved = names.map((n) => console[n]);
  const lines = [];
  for (const n of names) {
    console[n] = (...args) => {
      lines.push(`[${n}] ${util.format(...args)}`.slice(0, 2000));
    };
  }
  let restored = false;
  return () => {
    if (!restored) {
      names.forEach((n, i) => {
        console[n] = saved[i];
      });
      restored = true;
    }
    return lines;
  };
}

function describe(err) {
  if (err && err.code === 'ERR_ASSERTION') {
    const lines = [err.message];
    if (err.generatedMessage === false && 'actual' in err) {
      lines.push(`actual:   ${util.inspect(err.actual, { depth: 4, breakLength: 120 })}`);
      lines.push(`expected: ${util.inspect(err.expected, { depth: 4, breakLength: 120 })}`);
    }
    return lines.join('\n');
  }
  if (err instanceof Error) {
    let extra = '';
    if (err.statusCode !== undefined && err.request) {
      // An SDK's failed HTTP call (RestError): say which call and what came back.
      const body = err.response && err.response.bodyAsText;
      extra += `\nhttp: ${err.request.method} ${err.request.url} -> ${err.statusCode} ${body ? String(body).slice(0, 500) : ''}`;
    }
    if (err.isAxiosError && err.config) {
      // teams.apps' HTTP client is axios.
      const data = err.response && err.response.data;
      extra += `\nhttp: ${String(err.config.method).toUpperCase()} ${err.config.url} -> ${err.response ? err.response.status : 'no answer'} ${data ? JSON.stringify(data).slice(0, 500) : ''}`;
    }
    if (err.cause) extra += `\ncause: ${describe(err.cause)}`;
    return `${err.stack || err.message}${extra}`;
  }
  return util.inspect(err, { depth: 4 });
}

function indent(text) {
  return text
    .split('\n')
    .slice(0, 40)
    .map((l) => `     ${l}`)
    .join('\n');
}

module.exports = { Harness };
