// A second client stack for the realtime benchmark: one Node process, subscribers on the `ws`
// package, publishes through the official `pusher` Node SDK. It measures fan-out the way
// bench/loadgen does (publish time in the payload, latency per delivery, loss by sequence number)
// so that the two harnesses can be compared on the same servers.
//
//   node harness.mjs --port 8080 --server-pid PID fanout --subscribers 5000 --rate 10 --duration 30
//   node harness.mjs --port 8080 --server-pid PID burst --subscribers 5000 --events 1000 --publishers 8
//
// The last line printed is one JSON object with every figure.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import Pusher from 'pusher';
import WebSocket from 'ws';

const defaults = {
  host: '127.0.0.1',
  port: Number(process.env.REVERB_SERVER_PORT || 8080),
  'app-id': process.env.REVERB_APP_ID || 'bench',
  key: process.env.REVERB_APP_KEY || 'bench-key',
  secret: process.env.REVERB_APP_SECRET || 'bench-secret',
  'server-pid': 0,
  subscribers: 5000,
  rate: 10,
  duration: 30,
  events: 1000,
  publishers: 8,
  // Bytes of the event's data (JSON), as in the reported setup.
  size: 100,
  'connect-parallelism': 200,
  'drain-secs': 5,
  // The ws client offers permessage-deflate by default, as a browser does; --deflate false
  // turns the offer off.
  deflate: 'true',
  label: '',
};

function parseArgs(argv) {
  const opts = { ...defaults };
  let scenario = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (!(name in defaults)) throw new Error(`unknown option --${name}`);
      const value = argv[++i];
      opts[name] = typeof defaults[name] === 'number' ? Number(value) : value;
    } else if (!scenario) {
      scenario = arg;
    } else {
      throw new Error(`unexpected argument ${arg}`);
    }
  }
  if (scenario !== 'fanout' && scenario !== 'burst') {
    throw new Error('usage: node harness.mjs [options] fanout|burst');
  }
  return { scenario, opts };
}

const CLK_TCK = 100;

/** utime + stime of a process (all its threads), in seconds. */
function processCpu(pid) {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole host, in seconds. */
function hostBusy() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = v[3] + v[4];
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - idle) / CLK_TCK;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const round = (x, d = 2) => (x == null ? null : Number(x.toFixed(d)));

async function main() {
  const { scenario, opts } = parseArgs(process.argv.slice(2));
  const channel = `bench-js-${process.pid}`;
  const totalEvents = scenario === 'fanout' ? Math.round(opts.rate * opts.duration) : opts.events;
  const deflate = opts.deflate !== 'false';

  // Every delivery's latency (ms), and deliveries per sequence number.
  const latencies = new Float64Array(totalEvents * opts.subscribers);
  let deliveries = 0;
  const perSeq = new Uint32Array(totalEvents);
  // Per event: when its first and its last delivery arrived (ms after its publish), to tell the
  // server's time to the first write from the time the deliveries take to be read.
  const firstAt = new Float64Array(totalEvents).fill(NaN);
  const lastAt = new Float64Array(totalEvents);
  let firstSend = 0;
  let lastReceive = 0;
  let outOfRange = 0;
  const errors = {};
  const errorSamples = [];
  const error = (kind, message) => {
    errors[kind] = (errors[kind] || 0) + 1;
    if (errorSamples.length < 5 && !errorSamples.includes(`${kind}: ${message}`)) {
      errorSamples.push(`${kind}: ${message}`);
    }
  };

  const onMessage = (raw) => {
    const now = performance.now();
    const msg = JSON.parse(raw);
    if (msg.event !== 'bench') return;
    const data = JSON.parse(msg.data);
    if (data.s >= totalEvents) {
      outOfRange++;
      return;
    }
    perSeq[data.s]++;
    const latency = now - data.t;
    if (Number.isNaN(firstAt[data.s])) firstAt[data.s] = latency;
    lastAt[data.s] = latency;
    latencies[deliveries++] = latency;
    lastReceive = now;
  };

  // Connect and subscribe, at most connect-parallelism handshakes in flight.
  const url = `ws://${opts.host}:${opts.port}/app/${opts.key}?protocol=7&client=js&version=8.4.0`;
  const sockets = [];
  const connectTimes = [];
  let extensions = null;
  const subscribe = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const ws = new WebSocket(url, { perMessageDeflate: deflate });
      let done = false;
      const finish = (ok, why) => {
        if (done) return;
        done = true;
        if (ok) {
          connectTimes.push(performance.now() - started);
          sockets.push(ws);
        } else {
          error('connect', why);
          ws.terminate();
        }
        resolve();
      };
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw);
        if (msg.event === 'pusher:connection_established') {
          extensions ??= ws.extensions || '';
          ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
        } else if (msg.event === 'pusher_internal:subscription_succeeded') {
          ws.removeAllListeners('message');
          ws.on('message', onMessage);
          finish(true);
        } else if (msg.event === 'pusher:error') {
          finish(false, JSON.stringify(msg.data));
        }
      });
      ws.on('error', (e) => (done ? error('socket', e.message) : finish(false, e.message)));
      ws.on('close', () => {
        if (done) error('closed', 'closed during the run');
        else finish(false, 'closed before subscribing');
      });
    });
  const connectStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts['connect-parallelism'], opts.subscribers) }, async () => {
      while (next < opts.subscribers) {
        next++;
        await subscribe();
      }
    }),
  );
  const connectSecs = (performance.now() - connectStart) / 1000;
  connectTimes.sort((a, b) => a - b);
  process.stderr.write(
    `subscribed ${sockets.length}/${opts.subscribers} in ${connectSecs.toFixed(1)} s\n`,
  );

  const pusher = new Pusher({
    appId: opts['app-id'],
    key: opts.key,
    secret: opts.secret,
    host: opts.host,
    port: String(opts.port),
    useTLS: false,
    agent: new http.Agent({ keepAlive: true, maxSockets: opts.publishers }),
  });
  // {"s":N,"t":12345.678901234567,"p":""} is about 40 bytes; the pad brings the data to --size.
  const pad = 'x'.repeat(Math.max(0, opts.size - 40));
  let accepted = 0;
  // Publish round trips (ms): the HTTP request through the SDK until its answer.
  const httpTimes = [];
  const acceptedSeq = new Uint8Array(totalEvents);
  const publish = async (seq) => {
    const t = performance.now();
    try {
      const res = await pusher.trigger(channel, 'bench', { s: seq, t, p: pad });
      httpTimes.push(performance.now() - t);
      if (res.status >= 200 && res.status < 300) {
        accepted++;
        acceptedSeq[seq] = 1;
      } else {
        error('publish', `HTTP ${res.status}`);
      }
    } catch (e) {
      error('publish', e.message);
    }
  };

  // The measuring window: from the first publish to the last delivery (or the drain's end).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpu0 = { server: processCpu(opts['server-pid']), self: process.cpuUsage(), host: hostBusy() };
  const wall0 = performance.now();
  firstSend = wall0;
  const inflight = [];
  if (scenario === 'fanout') {
    const interval = 1000 / opts.rate;
    for (let seq = 0; seq < totalEvents; seq++) {
      const due = wall0 + seq * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(publish(seq));
    }
  } else {
    let seqNext = 0;
    await Promise.all(
      Array.from({ length: opts.publishers }, async () => {
        while (seqNext < totalEvents) await publish(seqNext++);
      }),
    );
  }
  await Promise.all(inflight);
  const expected = accepted * sockets.length;
  const drainEnd = performance.now() + opts['drain-secs'] * 1000;
  while (deliveries < expected && performance.now() < drainEnd) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const windowEnd = Math.max(lastReceive, firstSend + 1);
  // CPU is read now; the few ms of drain polling after the last delivery are within noise.
  const wallSecs = (performance.now() - wall0) / 1000;
  const selfCpu = process.cpuUsage(cpu0.self);
  const serverSecs = processCpu(opts['server-pid']) - cpu0.server;
  const hostSecs = hostBusy() - cpu0.host;
  const harnessSecs = (selfCpu.user + selfCpu.system) / 1e6;
  loopDelay.disable();

  let lost = 0;
  let duplicates = 0;
  for (let s = 0; s < totalEvents; s++) {
    if (!acceptedSeq[s]) continue;
    if (perSeq[s] < sockets.length) lost += sockets.length - perSeq[s];
    else duplicates += perSeq[s] - sockets.length;
  }
  httpTimes.sort((a, b) => a - b);
  const firsts = [];
  const spreads = [];
  for (let s = 0; s < totalEvents; s++) {
    if (Number.isNaN(firstAt[s])) continue;
    firsts.push(firstAt[s]);
    spreads.push(lastAt[s] - firstAt[s]);
  }
  firsts.sort((a, b) => a - b);
  spreads.sort((a, b) => a - b);
  const sorted = latencies.subarray(0, deliveries).sort();
  const deliverySecs = (windowEnd - firstSend) / 1000;
  const pct = (s) => round((100 * s) / wallSecs, 1);
  const result = {
    harness: 'js',
    label: opts.label,
    scenario,
    subscribers: opts.subscribers,
    subscribed: sockets.length,
    events: totalEvents,
    accepted,
    rate: scenario === 'fanout' ? opts.rate : null,
    publishers: scenario === 'burst' ? opts.publishers : null,
    extensions,
    connect_secs: round(connectSecs, 2),
    connect_p50_ms: round(percentile(connectTimes, 0.5)),
    connect_p99_ms: round(percentile(connectTimes, 0.99)),
    http_p50_ms: round(percentile(httpTimes, 0.5)),
    http_p99_ms: round(percentile(httpTimes, 0.99)),
    first_delivery_p50_ms: round(percentile(firsts, 0.5)),
    spread_p50_ms: round(percentile(spreads, 0.5)),
    deliveries,
    expected,
    lost,
    duplicates,
    out_of_range: outOfRange,
    deliveries_per_sec: Math.round(deliveries / deliverySecs),
    p50_ms: round(percentile(sorted, 0.5)),
    p90_ms: round(percentile(sorted, 0.9)),
    p99_ms: round(percentile(sorted, 0.99)),
    max_ms: round(percentile(sorted, 1)),
    window_secs: round(wallSecs, 2),
    server_cpu_pct: pct(serverSecs),
    harness_cpu_pct: pct(harnessSecs),
    other_cpu_pct: pct(Math.max(0, hostSecs - serverSecs - harnessSecs)),
    server_cpu_us_per_delivery: deliveries ? round((serverSecs * 1e6) / deliveries, 2) : null,
    loop_delay_p50_ms: round(loopDelay.percentile(50) / 1e6),
    loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
    loop_delay_max_ms: round(loopDelay.max / 1e6),
    cores: os.availableParallelism(),
    errors,
    error_samples: errorSamples,
  };
  console.log(
    `${opts.label || scenario}: ${deliveries}/${expected} delivered (${lost} lost), ` +
      `${result.deliveries_per_sec}/s, latency p50 ${result.p50_ms} p90 ${result.p90_ms} ` +
      `p99 ${result.p99_ms} max ${result.max_ms} ms; CPU server ${result.server_cpu_pct} % ` +
      `harness ${result.harness_cpu_pct} % other ${result.other_cpu_pct} %; ` +
      `event-loop delay p99 ${result.loop_delay_p99_ms} ms; publish p50 ${result.http_p50_ms} ms; ` +
      `per event: first delivery p50 ${result.first_delivery_p50_ms} ms, first→last p50 ` +
      `${result.spread_p50_ms} ms; ` +
      `extensions '${extensions}'`,
  );
  console.log(JSON.stringify(result));
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
