// admin/style.js — the Admin area's look, added to the page's head once (the page's CSP allows
// inline styles; this is our own constant text, never data). It uses the page's colours.

const CSS = `
.admin-dialog { width: min(980px, calc(100vw - 24px)); max-width: none; height: calc(100vh - 24px); max-height: none; border: 0; border-radius: 14px; padding: 0; box-shadow: 0 20px 50px rgba(0,0,0,.25); color: var(--text); background: var(--bg); }
.admin-dialog[open] { display: flex; flex-direction: column; }
.admin-dialog::backdrop { background: rgba(17,24,39,.45); }
.adm-top { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: var(--panel); border-bottom: 1px solid var(--border); flex-wrap: wrap; }
.adm-top h1 { margin: 0; font-size: 18px; }
.adm-tabs { display: flex; gap: 2px; flex: 1; flex-wrap: wrap; }
.adm-tabs [role=tab] { background: none; border: 0; border-bottom: 2px solid transparent; padding: 8px 10px; color: var(--muted); font-weight: 600; }
.adm-tabs [role=tab][aria-selected=true] { color: var(--primary); border-bottom-color: var(--primary); }
.adm-body { flex: 1; overflow-y: auto; padding: 12px 16px 24px; }
.adm-panel h2 { margin: 4px 0 8px; font-size: 18px; }
.adm-panel h3 { margin: 0 0 4px; font-size: 15px; }
.adm-list { list-style: none; margin: 8px 0 16px; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.adm-item { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px; display: flex; flex-direction: column; gap: 6px; min-width: 0; }
.adm-item.disabled { opacity: .7; }
.adm-head { display: flex; flex-wrap: wrap; gap: 6px 8px; align-items: center; overflow-wrap: anywhere; }
.adm-sub { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.adm-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; }
.adm-form { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 12px; display: flex; flex-direction: column; gap: 8px; margin: 12px 0; }
.adm-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 8px; }
.adm-field { display: flex; flex-direction: column; gap: 3px; min-width: 0; }
.adm-field label { font-weight: 600; }
.adm-field input, .adm-field select, .adm-field textarea { padding: 7px 9px; border: 1px solid #cbd5e1; border-radius: 8px; background: var(--panel); width: 100%; min-width: 0; }
.adm-row .adm-field { flex: 0 1 160px; }
.adm-copy { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; }
.adm-copy-value { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; resize: vertical; }
.adm-result:empty { display: none; }
.adm-secret .notice, .adm-result .notice { margin: 0; }
.adm-widgets { border: 1px solid var(--border); border-radius: 8px; padding: 6px 10px 10px; display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin: 0; }
.adm-widgets legend { font-weight: 600; padding: 0 4px; }
.adm-bot { border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 12px 12px; display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.adm-bot legend { font-weight: 600; padding: 0 4px; }
.adm-bot-kind { display: flex; flex-direction: column; gap: 10px; }
.adm-visitors { border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 12px 12px; display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.adm-visitors legend { font-weight: 600; padding: 0 4px; }
.adm-hours { border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 12px 12px; display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.adm-hours legend { font-weight: 600; padding: 0 4px; }
.adm-assignment { border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 12px 12px; display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.adm-assignment legend { font-weight: 600; padding: 0 4px; }
.transfer-agent { flex-wrap: nowrap; align-items: flex-start; }
.transfer-agent input { flex: none; margin-top: 2px; }
.transfer-agent label { flex: 1; min-width: 0; }
.adm-check { flex-direction: row; flex-wrap: wrap; align-items: center; gap: 6px; }
.adm-check input { width: 18px; height: 18px; }
.adm-check .hint { flex-basis: 100%; margin: 0; }
.adm-prechat-fields { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.adm-prechat-field { border: 1px dashed #cbd5e1; border-radius: 8px; padding: 8px; display: flex; flex-direction: column; gap: 8px; }
.adm-prechat-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; align-items: start; }
.adm-prechat-grid .adm-check { margin-top: 26px; }
.adm-secret-part { margin-top: 8px; }
.adm-bot-kind[hidden] { display: none; }
.adm-check { display: inline-flex; gap: 6px; align-items: center; }
.adm-status:empty { display: none; }
.adm-field[hidden] { display: none; }
.tag.role { background: #dbeafe; color: #1e3a8a; }
.tag.on { background: #dcfce7; color: #166534; }
.tag.off { background: #e5e7eb; color: #374151; }
.tag.bad { background: #fee2e2; color: #991b1b; }
.adm-events { flex-direction: column; align-items: flex-start; }
.adm-event label { font-weight: normal; overflow-wrap: anywhere; }
.adm-log { border-top: 1px solid var(--border); padding-top: 8px; display: flex; flex-direction: column; gap: 6px; }
.adm-log[hidden] { display: none; }
.adm-log-title { margin: 0; font-size: 14px; }
.adm-deliveries { margin: 0; }
.adm-delivery { padding: 8px 10px; }
.ghost.danger { color: var(--danger); border-color: #fecaca; }
.adm-try-result .facts { margin-top: 6px; }
.adm-detail { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; color: var(--muted); }
@media (max-width: 760px) {
  .admin-dialog { width: 100vw; height: 100vh; max-height: 100vh; border-radius: 0; margin: 0; }
  .adm-top { padding: 8px 10px; }
  .adm-body { padding: 10px; }
  .top .admin span { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
}
`;

export function ensureAdminStyles() {
  if (document.getElementById('pd-admin-style')) return;
  const style = document.createElement('style');
  style.id = 'pd-admin-style';
  style.textContent = CSS;
  document.head.append(style);
}
