// The Admin area's "Business hours" part of a widget: from the keyboard, hours are turned on, a
// time zone chosen, Monday's ranges typed and copied to the other weekdays, a range past midnight
// refused beside the form with the focus on that day, holidays listed, and the result saved as
// settings.hours, which the widget's configuration then reads (its availability); turning hours
// off removes them. Screenshots at desktop and phone sizes and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, adminTab, launch } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'hal@example.com', name: 'Hal Admin', password: 'correct horse battery' };
let parley, browser;

before(async () => {
  parley = await startParley();
  browser = await launch();
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
});

after(async () => {
  await browser?.close();
  await parley?.stop();
});

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png'), fullPage: true });
}

const signedIn = (viewport) => adminTab(browser, parley, ADMIN, viewport, 'Widgets');

const focusedLabel = (page) =>
  page.evaluate(() => {
    const id = document.activeElement?.id;
    return id ? document.querySelector('label[for="' + id + '"]')?.textContent : null;
  });

async function savedHours(page, name) {
  const all = await page.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()));
  return all.widgets.find((w) => w.name === name).settings.hours;
}

test('business hours are edited from the keyboard and saved as settings.hours', async () => {
  const { context, page, panel } = await signedIn({ width: 1280, height: 800 });
  await panel.getByLabel('Widget name').fill('Hours shop');
  await panel.getByRole('button', { name: 'Create widget' }).click();
  await panel.getByText('shown only now').first().waitFor();
  const widgetToken = await panel.getByLabel('Widget token', { exact: true }).inputValue();
  const item = panel.locator('.adm-item', { hasText: 'Hours shop' });
  await item.getByRole('button', { name: 'Edit Hours shop' }).click();

  // Off by default: the days are not shown.
  const on = item.getByLabel('Keep business hours');
  assert.equal(await on.isChecked(), false);
  assert.equal(await item.getByLabel('Monday').isVisible(), false);
  await on.focus();
  await page.keyboard.press('Space');
  await item.getByLabel('Time zone').focus();
  await item.getByLabel('Time zone').selectOption('Europe/Paris');
  await item.getByLabel('Monday').focus();
  await page.keyboard.type('09:00-12:30, 13:30-18:00');
  await item.getByRole('button', { name: 'Copy Monday to Tuesday-Friday' }).focus();
  await page.keyboard.press('Enter');
  assert.equal(await item.getByLabel('Friday').inputValue(), '09:00-12:30, 13:30-18:00');
  await item.getByLabel('Saturday').focus();
  await page.keyboard.type('22:00-02:00');
  await item.getByLabel('Holidays').focus();
  await page.keyboard.type('2026-12-25\n2027-01-01');
  await item.getByRole('button', { name: 'Save', exact: true }).click();
  await item.getByText('Saturday: "22:00-02:00" ends before it starts.', { exact: false }).waitFor();
  assert.equal(await focusedLabel(page), 'Saturday', 'the focus goes to the day that is wrong');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('10:00-14:00');
  await shot(page, 'admin-hours');
  assert.deepEqual(await accessibilityProblems(page), [], 'the hours editor at desktop size');
  await item.getByRole('button', { name: 'Save', exact: true }).focus();
  await page.keyboard.press('Enter');
  await panel.getByRole('status').filter({ hasText: 'is saved' }).waitFor();
  const week = ['09:00-12:30', '13:30-18:00'];
  assert.deepEqual(await savedHours(page, 'Hours shop'), {
    time_zone: 'Europe/Paris',
    weekly: { mon: week, tue: week, wed: week, thu: week, fri: week, sat: ['10:00-14:00'] },
    holidays: ['2026-12-25', '2027-01-01'],
  });
  // The widget reads them: its configuration says the mode and, away, when the team is back.
  const res = await fetch(parley.baseUrl + '/api/chatbot/config', { headers: { Authorization: 'Bearer ' + widgetToken } });
  const config = await res.json();
  assert.ok(['live', 'bot', 'away'].includes(config.availability.mode), JSON.stringify(config.availability));
  assert.equal(config.availability.mode === 'away', typeof config.availability.next_open_at === 'string');
  await context.close();

  // On a phone: the saved hours are shown again; turning them off removes them.
  const phone = await signedIn({ width: 390, height: 844 });
  const row = phone.panel.locator('.adm-item', { hasText: 'Hours shop' });
  await row.getByRole('button', { name: 'Edit Hours shop' }).click();
  assert.equal(await row.getByLabel('Monday').inputValue(), '09:00-12:30, 13:30-18:00');
  assert.equal(await row.getByLabel('Time zone').inputValue(), 'Europe/Paris');
  await row.getByLabel('Saturday').scrollIntoViewIfNeeded();
  await shot(phone.page, 'admin-hours-phone');
  assert.deepEqual(await accessibilityProblems(phone.page), [], 'the hours editor at phone size');
  await row.getByLabel('Keep business hours').uncheck();
  await row.getByRole('button', { name: 'Save', exact: true }).click();
  await phone.panel.getByRole('status').filter({ hasText: 'is saved' }).waitFor();
  assert.equal(await savedHours(phone.page, 'Hours shop'), undefined);
  await phone.context.close();
});
