// Prints bench/js/run.sh's results side by side: one row per pass, scenario, harness and figure,
// one column per server, each cell "value (ratio to the best server of that row)": 1.00× is the
// best, 1.30× is 30 % worse (higher latency or CPU, or fewer deliveries/s). The last line is one
// JSON object with every run and every ratio.
import fs from 'node:fs';

const runs = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l))
  .map((r) => (r.harness === 'rust' ? fromLoadgen(r) : r));

// bench/loadgen's report under the JS harness's names. CPU per delivery is derived from the
// server's CPU share and the delivery rate (the loadgen does not print its window).
function fromLoadgen({ label, loadgen: g }) {
  return {
    harness: 'rust',
    label,
    deliveries: g.deliveries,
    expected: g.expected_deliveries,
    lost: g.lost,
    deliveries_per_sec: Math.round(g.deliveries_per_sec),
    p50_ms: g.latency_p50_ms,
    p90_ms: g.latency_p90_ms,
    p99_ms: g.latency_p99_ms,
    max_ms: g.latency_max_ms,
    http_p50_ms: g.http_p50_ms,
    server_cpu_pct: g.server_cpu_pct,
    harness_cpu_pct: g.loadgen_cpu_pct,
    other_cpu_pct: g.other_cpu_pct,
    server_cpu_us_per_delivery: g.deliveries_per_sec
      ? Number(((g.server_cpu_pct * 1e4) / g.deliveries_per_sec).toFixed(2))
      : null,
    loop_delay_p99_ms: null,
    loadgen: g,
  };
}

// Figure, and whether lower is better.
const figures = [
  ['p50_ms', true],
  ['p90_ms', true],
  ['p99_ms', true],
  ['max_ms', true],
  ['http_p50_ms', true],
  ['first_delivery_p50_ms', true],
  ['spread_p50_ms', true],
  ['deliveries_per_sec', false],
  ['lost', true],
  ['server_cpu_pct', true],
  ['server_cpu_us_per_delivery', true],
  ['harness_cpu_pct', null],
  ['loop_delay_p99_ms', null],
  ['other_cpu_pct', null],
];

const groups = new Map();
for (const run of runs) {
  const [pass, scenario, harness, server] = run.label.split('/');
  const key = `${pass}/${scenario}/${harness}`;
  if (!groups.has(key)) groups.set(key, new Map());
  groups.get(key).set(server, run);
}

const servers = [...new Set(runs.map((r) => r.label.split('/')[3]))];
const ratios = {};
const pad = (s, n) => String(s).padEnd(n);
console.log(pad('pass/scenario/harness', 24) + pad('figure', 28) + servers.map((s) => pad(s, 20)).join(''));
for (const [key, byServer] of groups) {
  for (const [figure, lowerBetter] of figures) {
    const values = servers.map((s) => byServer.get(s)?.[figure] ?? null);
    const known = values.filter((v) => v != null);
    const best = lowerBetter == null || known.length === 0
      ? null
      : lowerBetter ? Math.min(...known) : Math.max(...known);
    const cells = values.map((v, i) => {
      if (v == null) return pad('-', 20);
      if (best == null) return pad(v, 20);
      const ratio = best === 0 ? (v === 0 ? 1 : null) : lowerBetter ? v / best : best / v;
      ratios[`${key}/${servers[i]}/${figure}`] = ratio == null ? null : Number(ratio.toFixed(2));
      return pad(`${v} (${ratio == null ? '-' : ratio.toFixed(2)}×)`, 20);
    });
    console.log(pad(key, 24) + pad(figure, 28) + cells.join(''));
  }
}
console.log(JSON.stringify({ runs, ratios }));
