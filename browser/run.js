'use strict';
// Browser suite: headless Chromium reads the herald emulator's web page the
// way a person would. The suite installs the bot for a seeded user, writes a
// conversation as the bot through the Connector API (text, a hero card, an
// Adaptive Card, an edited and a deleted message), then checks what the
// index page and the conversation page show, and takes screenshots.
//
// Environment:
//   BROWSER_EMULATOR_URL     a running `herald emulator --seed demo`
//   BROWSER_APP_ID, BROWSER_APP_SECRET  the bot identity it was started with
//   BROWSER_SCREENSHOT_DIR   where PNGs go (default: a new temporary folder)
//   BROWSER_CHROMIUM         the browser (default /usr/bin/chromium)
//
// The last line printed is "N passed, N failed". The exit status is 0 only
// when something ran and nothing failed.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { Harness } = require('./lib/harness');
const { Emulator } = require('./lib/emulator');
const fixture = require('./lib/fixture');
const { Watch, renderedText, assertShows, assertVisible, assertSameRow, assertLink, box } = require('./lib/page');

// Flags that let Chromium run headless as root on a machine with no
// outside network.
const chromiumArgs = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function env(name, fallback) {
  const v = process.env[name] || fallback;
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// need returns v, or fails the calling test because an earlier step did
// not produce it.
function need(what, v) {
  if (!v) throw new Error(`${what} is missing (an earlier step failed)`);
  return v;
}

async function main() {
  const emu = new Emulator(env('BROWSER_EMULATOR_URL'), {
    appId: env('BROWSER_APP_ID'),
    appSecret: env('BROWSER_APP_SECRET'),
  });
  const shots = process.env.BROWSER_SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'herald-browser-'));
  fs.mkdirSync(shots, { recursive: true });
  const h = new Harness({ timeoutMs: Number(process.env.BROWSER_TEST_TIMEOUT_MS || 20000) });

  // Shared by the tests below; each step fills in what later ones need.
  const s = { state: null, user: null, conv: null, msgs: null, ids: {}, browser: null, page: null, watch: null };

  h.test('scenario: the demo seed has a tenant, teams and users; installing the bot for a user opens a personal chat', async () => {
    const st = await emu.state();
    assert.ok(st.tenants && st.tenants.length > 0, 'no tenants in /scenario/state');
    assert.ok(st.teams && st.teams.length > 0, 'no teams in /scenario/state');
    const user = (st.users || []).find((u) => u.email === 'alice@contoso.com');
    assert.ok(user, 'no seeded user alice@contoso.com');
    const res = await emu.installPersonal(user.id);
    assert.ok(res && typeof res.conversationId === 'string' && res.conversationId.startsWith('a:'),
      `install/personal answered ${JSON.stringify(res)}`);
    Object.assign(s, { state: st, user, conv: res.conversationId });
  });

  h.test('scenario: the bot sends text, a hero card and an Adaptive Card, edits one message and deletes another', async () => {
    const conv = need('personal conversation', s.conv);
    const m = fixture.messages(need('user', s.user));
    s.ids.text = await emu.send(conv, m.text);
    s.ids.hero = await emu.send(conv, m.hero);
    s.ids.adaptive = await emu.send(conv, m.adaptive);
    s.ids.edited = await emu.send(conv, m.edited);
    s.ids.deleted = await emu.send(conv, m.deleted);
    s.ids.injection = await emu.send(conv, m.injection);
    s.ids.last = await emu.send(conv, m.last);
    const upd = await emu.update(conv, s.ids.edited, m.editedNew);
    assert.equal(upd && upd.id, s.ids.edited, 'PUT answered a different activity id');
    await emu.remove(conv, s.ids.deleted);
    s.msgs = m;
  });

  h.test('browser: headless Chromium starts', async () => {
    s.browser = await chromium.launch({
      executablePath: env('BROWSER_CHROMIUM', '/usr/bin/chromium'),
      headless: true,
      args: chromiumArgs,
    });
    const context = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
    s.page = await context.newPage();
    s.watch = new Watch(s.page);
  });

  h.test('index page: shows the seeded tenant, every team and every user', async () => {
    const page = need('browser page', s.page);
    const st = need('state', s.state);
    const res = await page.goto(emu.base + '/');
    assert.equal(res.status(), 200, 'GET / status');
    await s.watch.steady(async () => {
      const body = page.locator('body');
      const tenant = st.tenants[0];
      await assertShows(body, 'index page', [tenant.name]);
      await assertShows(body, 'index page', st.teams.map((t) => t.name));
      await assertShows(body, 'index page', st.users.map((u) => u.name));
      await assertVisible(body, s.user.email, 'index page');
    });
    await page.screenshot({ path: path.join(shots, 'index.png'), fullPage: true });
  });

  h.test('index page: lists the personal chat, and its link opens the conversation page', async () => {
    const page = need('browser page', s.page);
    const conv = need('personal conversation', s.conv);
    const want = '/conversations/' + conv;
    await page.goto(emu.base + '/');
    const links = page.locator('a').filter({ visible: true });
    const i = await s.watch.steady(async () => {
      // Links are compared by the path they lead to, however it is escaped.
      const paths = await links.evaluateAll((as) => as.map((a) => {
        try {
          return decodeURIComponent(new URL(a.href).pathname);
        } catch {
          return a.href;
        }
      }));
      const i = paths.indexOf(want);
      assert.ok(i >= 0, `no visible link to ${want} on the index page; links lead to ${JSON.stringify(paths)}`);
      return i;
    });
    await Promise.all([
      page.waitForURL((u) => decodeURIComponent(u.pathname) === want),
      links.nth(i).click(),
    ]);
    await assertShows(page.locator('body'), 'conversation page', [need('messages', s.msgs).textVisible]);
  });

  h.test('conversation page: the text message reads as sent, the mention as the person\'s name', async () => {
    const page = await openConversation(s, emu);
    await s.watch.steady(async () => {
      const msg = await message(page, need('messages', s.msgs).textVisible);
      const text = await renderedText(msg);
      assert.ok(text.includes('Welcome to Herald,'), `message shows: ${text}`);
      assert.ok(text.includes(s.user.name), `mention of ${s.user.name} not shown: ${text}`);
      assert.ok(!/<\/?at>/.test(text), `raw <at> markup shown: ${text}`);
    });
  });

  h.test('conversation page: the hero card shows its title, subtitle, text and buttons', async () => {
    const page = await openConversation(s, emu);
    const card = need('messages', s.msgs).hero.attachments[0].content;
    await s.watch.steady(async () => {
      const msg = await message(page, card.title);
      for (const t of [card.title, card.subtitle, card.text, ...card.buttons.map((b) => b.title)]) {
        await assertVisible(msg, t, 'hero card');
      }
      await assertLink(msg, card.buttons[0].title, card.buttons[0].value, 'hero card openUrl button');
    });
  });

  h.test('conversation page: the Adaptive Card shows its TextBlocks, each fact beside its title, and its Action.OpenUrl', async () => {
    const page = await openConversation(s, emu);
    const card = need('messages', s.msgs).adaptive.attachments[0].content;
    await s.watch.steady(async () => {
      const msg = await message(page, card.body[0].text);
      await assertVisible(msg, card.body[0].text, 'Adaptive Card TextBlock');
      await assertVisible(msg, card.body[1].text, 'Adaptive Card TextBlock');
      for (const f of card.body[2].facts) {
        const title = await assertVisible(msg, f.title, 'Adaptive Card fact title');
        const value = await assertVisible(msg, f.value, 'Adaptive Card fact value');
        await assertSameRow(title, value, `fact ${JSON.stringify(f.title)}`);
      }
      const action = card.actions[0];
      await assertLink(msg, action.title, action.url, 'Adaptive Card Action.OpenUrl');
      await msg.screenshot({ path: path.join(shots, 'adaptive-card.png') });
    });
  });

  h.test('conversation page: the edited message shows its new text only and is marked edited', async () => {
    const page = await openConversation(s, emu);
    await s.watch.steady(async () => {
      const msg = await message(page, need('messages', s.msgs).editedNew.text);
      const text = await renderedText(msg);
      assert.ok(/\bedited\b/i.test(text), `edited message is not marked edited: ${text}`);
      const plain = await renderedText(await message(page, s.msgs.last.text));
      assert.ok(!/\bedited\b/i.test(plain), `a message never edited is marked edited: ${plain}`);
      const body = await renderedText(page.locator('body'));
      assert.ok(!body.includes(s.msgs.edited.text), `the text before the edit is still shown: ${s.msgs.edited.text}`);
    });
  });

  h.test('conversation page: the deleted message is shown as deleted, without its text', async () => {
    const page = await openConversation(s, emu);
    const id = need('deleted activity id', s.ids.deleted);
    await s.watch.steady(async () => {
      const body = await renderedText(page.locator('body'));
      assert.ok(!body.includes(need('messages', s.msgs).deleted.text), 'the deleted message\'s text is still shown');
      const byId = page.locator(`article[id*=${JSON.stringify(id)}]`);
      const n = await byId.count();
      assert.ok(n === 1, `want one message element for deleted activity ${id}, found ${n}`);
      const text = await renderedText(byId);
      assert.ok(/deleted/i.test(text), `deleted message is not marked deleted: ${text}`);
    });
  });

  h.test('conversation page: messages appear top to bottom in the order they were sent', async () => {
    const page = await openConversation(s, emu);
    const m = need('messages', s.msgs);
    await s.watch.steady(async () => {
      const order = [
        ['text', await message(page, m.textVisible)],
        ['hero card', await message(page, m.hero.attachments[0].content.title)],
        ['Adaptive Card', await message(page, m.adaptive.attachments[0].content.body[0].text)],
        ['edited', await message(page, m.editedNew.text)],
        ['deleted', page.locator(`article[id*=${JSON.stringify(s.ids.deleted)}]`)],
        ['last', await message(page, m.last.text)],
      ];
      let prev = null;
      for (const [name, loc] of order) {
        const b = await box(loc, `${name} message`);
        if (prev) assert.ok(b.y >= prev.b.y + prev.b.height - 1, `${name} message (y=${b.y}) is not below the ${prev.name} message (ends y=${prev.b.y + prev.b.height})`);
        prev = { name, b };
      }
    });
  });

  h.test('conversation page: markup in a message is not executed, and the page loads without errors', async () => {
    const page = await openConversation(s, emu);
    await s.watch.steady(async () => {
      await message(page, 'Markup check:');
      const injected = await page.evaluate(() => window.__heraldInjected);
      assert.equal(injected, undefined, 'markup from a message ran script in the page');
    });
    await page.screenshot({ path: path.join(shots, 'conversation.png'), fullPage: true });
    assert.deepEqual(s.watch.errors, [], 'script errors on the pages');
    assert.deepEqual(s.watch.badResponses, [], 'failed requests while loading the pages');
  });

  h.test('screenshots: the PNGs are written and have content', async () => {
    for (const name of ['index.png', 'conversation.png', 'adaptive-card.png']) {
      const file = path.join(shots, name);
      assert.ok(fs.existsSync(file), `${name} was not written`);
      const b = fs.readFileSync(file);
      assert.equal(b.subarray(1, 4).toString(), 'PNG', `${name} is not a PNG`);
      const width = b.readUInt32BE(16);
      const height = b.readUInt32BE(20);
      assert.ok(width >= 200 && height >= 100 && b.length > 5000, `${name} is ${width}x${height}, ${b.length} bytes`);
      console.log(`     ${file} ${width}x${height}`);
    }
  });

  let result;
  try {
    result = await h.run();
  } finally {
    if (s.browser) await s.browser.close();
  }
  const { passed, failed, failures } = result;
  if (failures.length > 0) {
    console.log('\nfailed:');
    for (const f of failures) console.log(`  - ${f}`);
  }
  console.log(`screenshots: ${shots}`);
  console.log(`${passed} passed, ${failed} failed`);
  return passed > 0 && failed === 0 ? 0 : 1;
}

// openConversation shows the personal chat's page in the browser.
async function openConversation(s, emu) {
  const page = need('browser page', s.page);
  const url = emu.base + '/conversations/' + encodeURIComponent(need('personal conversation', s.conv));
  const res = await page.goto(url);
  assert.equal(res.status(), 200, `GET ${url} status`);
  return page;
}

// message returns the one message (an <article>) that shows text.
async function message(page, text) {
  const loc = page.locator('article').filter({ hasText: text });
  const n = await loc.count();
  assert.ok(n === 1, `want one message showing ${JSON.stringify(text)}, found ${n}`);
  return loc;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
