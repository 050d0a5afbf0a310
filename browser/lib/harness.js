'use strict';
// A small sequential test runner: each test is a named async function with
// a time limit; run() prints one line per test and returns the tallies.

class Harness {
  constructor({ timeoutMs }) {
    this.timeoutMs = timeoutMs;
    this.tests = [];
  }

  // test registers fn under name. A test fails when fn throws or runs past
  // the time limit.
  test(name, fn) {
    this.tests.push({ name, fn });
  }

  async run() {
    let passed = 0;
    const failures = [];
    for (const { name, fn } of this.tests) {
      const started = Date.now();
      let timer;
      const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      try {
        await Promise.race([fn(), limit]);
        passed++;
        console.log(`ok   ${name} (${Date.now() - started} ms)`);
      } catch (err) {
        const msg = (err && err.message ? err.message : String(err)).trim();
        failures.push(`${name}: ${msg}`);
        console.log(`FAIL ${name} (${Date.now() - started} ms)\n     ${msg.replace(/\n/g, '\n     ')}`);
      } finally {
        clearTimeout(timer);
      }
    }
    return { passed, failed: failures.length, failures };
  }
}

module.exports = { Harness };
