// Email, end to end: a visitor who gave an email chats and leaves; the agent's reply reaches a
// real SMTP server (aiosmtpd from tests/mail) as a mail whose link, opened in another browser
// (another device), reopens the same conversation in the widget, open, with the reply; the key
// leaves the address bar. A tampered link reopens nothing. Screenshots at phone and desktop
// sizes, and the accessibility check of the reopened chat.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startParley, REPO_ROOT } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

let sink, parley, pages, browser;

/** The SMTP server: its port, and the mails it accepted (decoded by the script). */
async function startSink() {
  const python = execFileSync('bash', [join(REPO_ROOT, 'tests/mail/venv.sh')], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'parley-mail-'));
  const proc = spawn(python, [join(REPO_ROOT, 'tests/mail/smtp_sink.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', () => reject(new Error('the SMTP server stopped')));
  });
  const port = Number(/listening on (\d+)/.exec(line)[1]);
  return {
    port,
    mails: () => readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))),
    async waitFor(n) {
      for (let i = 0; i < 400; i++) {
        const mails = this.mails();
        if (mails.length >= n) return mails;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('expected ' + n + ' mails, got ' + this.mails().length);
    },
    stop() {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

before(async () => {
  sink = await startSink();
  parley = await startParley({
    agent: true,
    env: {
      PARLEY_SMTP_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
      PARLEY_MAIL_FROM: 'Parley Support <support@parley.test>',
      PARLEY_EMAIL_AFTER_SECS: '1',
    },
  });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
  sink?.stop();
});

test('the mailed reply links back to the conversation, on another device', async () => {
  // The visitor chats, with an email, and leaves.
  const first = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(first, pages.page());
  const w = widget(page);
  await w.open();
  await w.send('Where is my parcel?');
  await w.waitForMessage('Where is my parcel?');
  const { conversationId } = await w.state();
  await first.close();

  // The agent answers; the visitor is away, so it is mailed.
  const reply = await parley.agentApi('POST', `/api/agent/conversations/${conversationId}/messages`, { body: { message: 'We found it: it arrives tomorrow' } });
  assert.equal(reply.status, 201, reply.text);
  const [mail] = await sink.waitFor(1);
  assert.deepEqual(mail.rcpt_tos, ['test@example.com']); // the test page's visitorEmail
  assert.equal(mail.headers.Subject, 'New reply from Demo');
  assert.match(mail.text, /We found it: it arrives tomorrow/);
  const link = /(http:\/\/127\.0\.0\.1:\d+\/chatbot-test\.html\S*#parley_reopen=\S+)/.exec(mail.text)?.[1];
  assert.ok(link, mail.text);
  assert.ok(mail.html.includes(link.replaceAll('&', '&amp;')), 'the HTML part has the same link');

  for (const [size, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 800 }]]) {
    // Another device: nothing in its storage; the link alone reopens the conversation, open.
    const other = await newContext(browser, { viewport });
    const phone = await openPage(other, link);
    const pw = widget(phone);
    await pw.ready();
    await pw.panel.waitFor({ state: 'visible', timeout: 15000 });
    await pw.waitForMessage('We found it: it arrives tomorrow');
    await pw.waitForMessage('Where is my parcel?');
    assert.equal((await pw.state()).conversationId, conversationId);
    assert.ok(!(await phone.evaluate(() => location.hash)).includes('parley_reopen'), 'the key left the address bar');
    await screenshot(phone, 'email-reopened-' + size);
    assert.deepEqual(await accessibilityProblems(phone), [], 'the reopened chat at ' + size + ' size');
    // The visitor can answer from here.
    await pw.send('Thank you!');
    await pw.waitForMessage('Thank you!');
    await other.close();
  }

  // A tampered link opens nothing.
  const tampered = link.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0'));
  const third = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const stranger = await openPage(third, tampered);
  await widget(stranger).ready();
  await stranger.waitForTimeout(1000);
  assert.equal((await widget(stranger).state()).conversationId, null);
  await third.close();
});
