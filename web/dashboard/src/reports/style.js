// reports/style.js — the Reports view's look, added to the page's head once (the page's CSP
// allows inline styles; this is our own constant text, never data). It uses the page's colours.

const CSS = `
.reports-dialog { width: min(1080px, calc(100vw - 24px)); max-width: none; height: calc(100vh - 24px); max-height: none; border: 0; border-radius: 14px; padding: 0; box-shadow: 0 20px 50px rgba(0,0,0,.25); color: var(--text); background: var(--bg); }
.reports-dialog[open] { display: flex; flex-direction: column; }
.reports-dialog::backdrop { background: rgba(17,24,39,.45); }
.rep-top { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: var(--panel); border-bottom: 1px solid var(--border); }
.rep-top h1 { margin: 0; font-size: 18px; }
.rep-top .spacer { flex: 1; }
.rep-body { flex: 1; overflow-y: auto; padding: 12px 16px 24px; display: flex; flex-direction: column; gap: 10px; }
.rep-filters { display: flex; flex-wrap: wrap; gap: 10px 12px; align-items: flex-end; background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 12px; }
.rep-field { display: flex; flex-direction: column; gap: 3px; min-width: 0; flex: 1 1 150px; }
.rep-field label { font-weight: 600; }
.rep-field input, .rep-field select { padding: 7px 9px; border: 1px solid #94a3b8; border-radius: 8px; background: var(--panel); width: 100%; min-width: 0; }
.rep-actions { display: flex; gap: 8px; flex-wrap: wrap; }
.rep-scope, .rep-status, .rep-error { margin: 0; }
.rep-status:empty, .rep-error:empty { display: none; }
.rep-error { color: var(--danger); }
.rep-section { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px 12px; min-width: 0; }
.rep-section h2 { margin: 0 0 8px; font-size: 15px; }
.rep-results { display: flex; flex-direction: column; gap: 10px; }
.rep-results[hidden] { display: none; }
.rep-cards { margin: 0; display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; }
.rep-card { border: 1px solid var(--border); border-radius: 10px; padding: 8px 10px; display: flex; flex-direction: column; gap: 2px; }
.rep-card dt { color: var(--muted); font-size: 12.5px; font-weight: 600; }
.rep-card dd { margin: 0; display: flex; flex-direction: column; }
.rep-value { font-size: 22px; font-weight: 700; line-height: 1.2; }
.rep-detail { color: var(--muted); font-size: 12px; }
.rep-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 10px; }
.rep-chart-figure { margin: 0; }
.rep-chart { width: 100%; min-height: 220px; }
.rep-chart .u-legend { font-size: 12px; }
.rep-details summary { cursor: pointer; color: var(--primary-dark); margin-top: 6px; }
.rep-scroll { overflow-x: auto; max-width: 100%; }
.rep-table { border-collapse: collapse; width: 100%; font-size: 13px; }
.rep-table th, .rep-table td { padding: 5px 8px; border-bottom: 1px solid var(--border); text-align: left; white-space: nowrap; }
.rep-table thead th { color: var(--muted); font-size: 12px; }
.rep-table .num { text-align: right; font-variant-numeric: tabular-nums; }
.rep-details .rep-table { max-width: 420px; }
@media (max-width: 760px) {
  .reports-dialog { width: 100vw; height: 100vh; max-height: 100vh; border-radius: 0; margin: 0; }
  .rep-body { padding: 10px; }
  .rep-value { font-size: 19px; }
}
`;

export function ensureReportStyles() {
  if (document.getElementById('pd-reports-style')) return;
  const style = document.createElement('style');
  style.id = 'pd-reports-style';
  style.textContent = CSS;
  document.head.append(style);
}
