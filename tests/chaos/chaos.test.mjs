// The chaos test: three senders post through the chat API with client_id retries; pusher-js
// receivers (gap-filling on every (re)subscription, as the widget does) and the real widget in
// Chromium record what they show; meanwhile `parley serve` is SIGKILLed and restarted, Redis is
// killed and restarted, and PostgreSQL connections are terminated. Afterwards every acknowledged
// message must be shown by every receiver exactly once and in order.
//
// Scenarios: SQLite on one node; PostgreSQL on one node; PostgreSQL on two nodes sharing
// PostgreSQL and Redis, with receivers split over the nodes and senders alternating between them.
// The PostgreSQL scenarios are skipped (with the reason) when PARLEY_TEST_POSTGRES_URL cannot be
// reached, the Redis one when redis-server is not installed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { runScenario } from './lib/scenario.mjs';
import { OwnDatabase, OwnRedis } from './lib/deps.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const SCENARIOS = [
  {
    name: 'SQLite, one node',
    database: 'sqlite',
    nodeCount: 1,
    redis: false,
    durationMs: 24000,
    faults: [
      [4000, 'kill:0'],
      [11000, 'kill:0'],
      [18000, 'kill:0'],
    ],
  },
  {
    name: 'PostgreSQL, one node',
    database: 'postgres',
    nodeCount: 1,
    redis: false,
    durationMs: 24000,
    faults: [
      [3000, 'pg'],
      [6000, 'kill:0'],
      [10000, 'pg'],
      [14000, 'kill:0'],
      [18000, 'pg'],
    ],
  },
  {
    name: 'PostgreSQL and Redis, two nodes',
    database: 'postgres',
    nodeCount: 2,
    redis: true,
    durationMs: 30000,
    faults: [
      [3000, 'kill:0'],
      [7000, 'redis'],
      [11000, 'pg'],
      [15000, 'kill:1'],
      [19000, 'redis'],
      [23000, 'pg'],
      [26000, 'kill:0'],
    ],
  },
];

describe('chaos: nothing acknowledged is lost or doubled', () => {
  let browser;
  let postgresMissing;
  let redisMissing;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (tests/chaos/run.sh installs Debian's; set CHROMIUM_PATH to use another)`);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    postgresMissing = await OwnDatabase.unavailable();
    redisMissing = await OwnRedis.unavailable();
  });
  after(async () => {
    await browser?.close();
  });

  for (const scenario of SCENARIOS) {
    test(scenario.name, async (t) => {
      const why = (scenario.database === 'postgres' && postgresMissing) || (scenario.redis && redisMissing);
      if (why) {
        console.log(`chaos: skipping "${scenario.name}": ${why}`);
        t.skip(why);
        return;
      }
      const result = await runScenario({ ...scenario, browser, log: (line) => console.log(line) });
      console.log(result.report);
      const bad = result.rows.filter((r) => r.lost || r.doubled || r.extra || r.outOfOrder || r.wrongId);
      if ((bad.length || process.env.CHAOS_VERBOSE) && result.problems.length) console.log('   server warnings:\n   ' + result.problems.join('\n   '));
      for (const s of result.senders) {
        assert.deepEqual(s.unexpected, [], `${s.name} got answers a retry cannot explain`);
        assert.equal(s.acked.size, s.sent.length, `${s.name}: every message it sent was acknowledged in the end`);
      }
      assert.deepEqual(
        bad.map((r) => `${r.name}: lost ${r.lost}, doubled ${r.doubled}, never acknowledged ${r.extra}, out of order ${r.outOfOrder}, wrong id ${r.wrongId}`),
        [],
        'every receiver shows every acknowledged message exactly once and in order',
      );
    });
  }
});
