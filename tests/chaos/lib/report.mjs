// Counting what a receiver shows against what the senders had acknowledged, and the printed
// report. Every chaos text ends with its client_id, so a message is recognised by its text
// whichever route it came by (event, gap-fill, the widget's DOM).

/**
 * @param {{id:number, text:string}[]} shown in the order shown
 * @param {Map<string, number>} acked client_id -> acknowledged id
 */
export function count(shown, acked) {
  const seen = new Map();
  let extra = 0;
  let wrongId = 0;
  let outOfOrder = 0;
  let previous = 0;
  for (const { id, text } of shown) {
    const clientId = String(text).trim().split(/\s+/).pop();
    if (!acked.has(clientId)) {
      if (/^chaos /.test(text)) extra++;
      continue;
    }
    seen.set(clientId, (seen.get(clientId) || 0) + 1);
    if (acked.get(clientId) !== id) wrongId++;
    if (id <= previous) outOfOrder++;
    previous = id;
  }
  let doubled = 0;
  for (const n of seen.values()) if (n > 1) doubled += n - 1;
  const missing = [...acked.keys()].filter((c) => !seen.has(c));
  return { acked: acked.size, shown: seen.size, lost: missing.length, missing, doubled, extra, wrongId, outOfOrder };
}

/**
 * Where the messages a receiver missed came from: grouped by the node that acknowledged them
 * and the second of the run, e.g. `node A +7s ×12`.
 */
export function describeMissing(missing, acks, t0) {
  const groups = new Map();
  for (const clientId of missing) {
    const a = acks.get(clientId);
    const key = `node ${a.node} +${Math.floor((a.at - t0) / 1000)}s`;
    groups.set(key, (groups.get(key) || 0) + 1);
  }
  return [...groups].map(([k, n]) => `${k} ×${n}`).join(', ');
}

export function formatReport({ name, senders, rows, faults, notes }) {
  const sent = senders.reduce((n, s) => n + s.sent.length, 0);
  const acked = senders.reduce((n, s) => n + s.acked.size, 0);
  const attempts = senders.reduce((n, s) => n + s.attempts, 0);
  const foundStored = senders.reduce((n, s) => n + [...s.acked.values()].filter((a) => a.status === 200).length, 0);
  const failures = {};
  for (const s of senders) for (const [why, n] of Object.entries(s.failures)) failures[why] = (failures[why] || 0) + n;
  const lines = [];
  lines.push(`== chaos: ${name}`);
  for (const f of faults) lines.push(`   fault ${f}`);
  lines.push(
    `   senders: ${senders.length}, sent ${sent}, acknowledged ${acked}, attempts ${attempts}` +
      ` (${attempts - sent} retries${Object.keys(failures).length ? ': ' + Object.entries(failures).map(([k, v]) => `${k}×${v}`).join(', ') : ''})` +
      `, ${foundStored} acknowledged by a retry as already stored (200)`,
  );
  for (const n of notes) lines.push(`   ${n}`);
  const header = ['receiver', 'sent', 'acked', 'shown', 'lost', 'doubled', 'order'];
  const table = rows.map((r) => [
    r.name,
    String(sent),
    String(r.acked),
    String(r.shown),
    String(r.lost),
    String(r.doubled),
    r.outOfOrder || r.wrongId ? `BAD (${r.outOfOrder} out of order, ${r.wrongId} wrong id)` : 'ok',
    r.extra ? `${r.extra} never acknowledged` : '',
    r.how,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (cells) => '   ' + cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  lines.push(fmt(header));
  for (const row of table) lines.push(fmt(row));
  for (const r of rows) if (r.missedFrom) lines.push(`   ${r.name} missed messages acknowledged by ${r.missedFrom}`);
  return lines.join('\n');
}
