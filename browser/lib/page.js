'use strict';
// Helpers that read a page as a person would: text that is rendered, where
// it is on screen, and what a link leads to.

const assert = require('node:assert/strict');

// Watch counts main-frame navigations (the emulator's pages refresh
// themselves every few seconds) and records page errors and failed
// requests.
class Watch {
  constructor(page) {
    this.navigations = 0;
    this.errors = [];
    this.badResponses = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.navigations++;
    });
    page.on('pageerror', (err) => this.errors.push(err.message));
    page.on('response', (res) => {
      if (res.status() >= 400) this.badResponses.push(`${res.status()} ${res.url()}`);
    });
  }

  // steady runs fn, and runs it again (up to three times in all) when the
  // page reloaded itself meanwhile, so that a check never straddles two
  // loads of the page. A failure without a reload is final.
  async steady(fn) {
    for (let attempt = 1; ; attempt++) {
      const before = this.navigations;
      try {
        const v = await fn();
        if (this.navigations === before || attempt === 3) return v;
      } catch (err) {
        if (this.navigations === before || attempt === 3) throw err;
      }
    }
  }
}

// renderedText is the page's text as rendered (innerText leaves out what is
// hidden, such as a closed <details> body), with whitespace collapsed.
async function renderedText(locator) {
  return squash(await locator.innerText());
}

function squash(s) {
  return s.replace(/\s+/g, ' ').trim();
}

// assertShows fails unless every string in wants is in the rendered text of
// locator (named what in the message).
async function assertShows(locator, what, wants) {
  const text = await renderedText(locator);
  const missing = wants.filter((w) => !text.includes(squash(w)));
  assert.deepEqual(missing, [], `${what} does not show ${JSON.stringify(missing)}; it shows: ${text.slice(0, 600)}`);
}

// assertVisible fails unless some element whose own text contains text is
// visible inside scope, and returns the first such element.
async function assertVisible(scope, text, what) {
  const loc = scope.getByText(text).filter({ visible: true });
  const n = await loc.count();
  assert.ok(n > 0, `${what}: no visible element shows ${JSON.stringify(text)}`);
  return loc.first();
}

// box returns the on-screen box of locator, failing when it has none.
async function box(locator, what) {
  const b = await locator.boundingBox();
  assert.ok(b && b.width > 0 && b.height > 0, `${what} has no on-screen box`);
  return b;
}

// assertSameRow fails unless right's box is on the same line as left's and
// to its right, as a fact's value is beside its title.
async function assertSameRow(left, right, what) {
  const a = await box(left, `${what} (title)`);
  const b = await box(right, `${what} (value)`);
  const overlap = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  assert.ok(overlap > 0.5 * Math.min(a.height, b.height),
    `${what}: value is not on the title's line (title y=${a.y}..${a.y + a.height}, value y=${b.y}..${b.y + b.height})`);
  assert.ok(b.x >= a.x + a.width - 1, `${what}: value (x=${b.x}) is not right of its title (ends x=${a.x + a.width})`);
}

// assertLink fails unless a visible link whose text contains title leads to
// href inside scope.
async function assertLink(scope, title, href, what) {
  const links = scope.getByRole('link', { name: title }).filter({ visible: true });
  const n = await links.count();
  assert.ok(n > 0, `${what}: no visible link named ${JSON.stringify(title)}`);
  const hrefs = [];
  for (let i = 0; i < n; i++) hrefs.push(await links.nth(i).getAttribute('href'));
  assert.ok(hrefs.includes(href), `${what}: link ${JSON.stringify(title)} leads to ${JSON.stringify(hrefs)}, want ${href}`);
}

module.exports = { Watch, renderedText, assertShows, assertVisible, assertSameRow, assertLink, box, squash };
