// ui/styles.js — owns the widget's look. It lives inside the Shadow DOM, so the host page's CSS
// cannot reach in and ours cannot leak out; `:host { all: initial }` also stops inherited fonts
// and colours. Colours are CSS custom properties the widget's settings override. Narrow phones
// get a full-screen panel; reduced-motion users get no animation. Sides inside the panel are
// logical (inline-start/end), so a right-to-left language (dir="rtl" on .frame) mirrors the
// bubbles, the composer, the rating prompt and the away email form; the launcher stays where
// the settings put it.
// A message takes its own direction from its text (English in an Arabic widget reads right).

export const CSS = `
:host{all:initial;position:fixed;z-index:2147483000;bottom:20px;right:20px;
  --pw-primary:#2563eb;--pw-on-primary:#fff;--pw-bg:#fff;--pw-text:#1f2937;--pw-muted:#6b7280;
  --pw-bot:#f3f4f6;--pw-agent:#ecfdf5;--pw-agent-edge:#10b981;--pw-border:#e5e7eb;--pw-danger:#dc2626;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--pw-text)}
:host([data-position=left]){right:auto;left:20px}
*{box-sizing:border-box}
[hidden]{display:none!important}
.frame{display:contents}
button{font:inherit;color:inherit;cursor:pointer;border:0;background:none;padding:0}
:focus-visible{outline:3px solid var(--pw-primary);outline-offset:2px}
.head :focus-visible{outline-color:var(--pw-on-primary);outline-offset:-3px}
.panel:focus{outline:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.launcher{position:relative;width:58px;height:58px;border-radius:50%;background:var(--pw-primary);color:var(--pw-on-primary);
  display:grid;place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;inset-inline-end:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:var(--pw-danger);
  color:#fff;font-size:12px;font-weight:700;display:grid;place-items:center;border:2px solid #fff}
.panel{position:absolute;bottom:74px;right:0;width:370px;height:min(620px,calc(100vh - 110px));background:var(--pw-bg);
  border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}
:host([data-position=left]) .panel{right:auto;left:0}
.nudge{position:absolute;bottom:70px;right:0;width:max-content;max-width:min(260px,calc(100vw - 40px));display:flex;align-items:flex-start;gap:4px;
  padding:10px 8px 10px 14px;padding-inline:14px 8px;background:var(--pw-bg);color:var(--pw-text);border-radius:14px;box-shadow:0 6px 24px rgba(0,0,0,.2)}
:host([data-position=left]) .nudge{right:auto;left:0}
.nudge-text{flex:1;text-align:start;white-space:pre-wrap;overflow-wrap:anywhere}
.nudge-x{flex:none;width:24px;height:24px;border-radius:12px;font-size:18px;line-height:1;color:var(--pw-muted)}
.nudge-x:hover{background:var(--pw-bot)}
.head{background:var(--pw-primary);color:var(--pw-on-primary);padding-block:14px 12px;padding-inline:18px 14px;display:flex;align-items:center;gap:10px}
.head .who{flex:1;min-width:0}
.head h2{margin:0;font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{font-size:12px;opacity:.92;display:flex;align-items:center;gap:6px}
.dot{width:8px;height:8px;border-radius:50%;background:#9ca3af;flex:none}
.dot.on{background:#22c55e;box-shadow:0 0 0 2px rgba(255,255,255,.6)}
.head button{width:34px;height:34px;border-radius:8px;display:grid;place-items:center}
.head button:hover{background:rgba(255,255,255,.15)}
.banner{padding:8px 14px;font-size:13px;background:#fef3c7;color:#92400e;border-bottom:1px solid #fde68a}
.list{flex:1;overflow-y:auto;margin:0;padding:14px 12px 6px;list-style:none;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}
.msg{position:relative;max-width:82%;display:flex;flex-direction:column;align-self:flex-start}
.msg.visitor{align-self:flex-end;align-items:flex-end}
.msg.system{align-self:center;max-width:92%;text-align:center}
.meta{font-size:11.5px;color:var(--pw-muted);margin:0 4px 2px;display:flex;gap:6px}
.meta b{font-weight:600;color:var(--pw-text)}
.bubble{padding:9px 12px;border-radius:14px;background:var(--pw-bot);white-space:pre-wrap;unicode-bidi:plaintext;overflow-wrap:anywhere;word-break:break-word}
.bot .bubble{border-end-start-radius:4px}
.agent .bubble{background:var(--pw-agent);border-inline-start:3px solid var(--pw-agent-edge);border-end-start-radius:4px}
.visitor .bubble{background:var(--pw-primary);color:var(--pw-on-primary);border-end-end-radius:4px}
.visitor .bubble a{color:inherit}
.system .bubble{background:none;color:var(--pw-muted);font-size:12.5px;font-style:italic;padding:2px 8px}
.pending .bubble{box-shadow:0 0 0 2px var(--pw-bg),0 0 0 3px var(--pw-border)}
.failed .bubble{outline:2px solid var(--pw-danger)}
.bubble a{color:var(--pw-primary);text-decoration:underline}
.bubble img{display:block;max-width:100%;max-height:240px;border-radius:8px;margin:2px 0}
.bubble audio{display:block;width:230px;max-width:100%;margin:2px 0}
.md{white-space:normal}
.md p,.md ul,.md ol,.md pre{margin:0 0 8px}
.md>:last-child,.md li>:last-child{margin-bottom:0}
.md ul,.md ol{padding-inline-start:20px}
.md ul{list-style:disc}
.md ol{list-style:decimal}
.md ul ul{list-style:circle}
.md li+li{margin-top:2px}
.md code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:rgba(0,0,0,.07);padding:1px 4px;border-radius:4px}
.md pre{padding:8px 10px;background:rgba(0,0,0,.07);border-radius:8px;white-space:pre-wrap;overflow-wrap:anywhere;direction:ltr;text-align:left}
.md pre code{background:none;padding:0;font-size:12.5px}
.offer{display:flex;margin-top:6px}
.talk{padding:7px 14px;border-radius:999px;background:var(--pw-primary);color:var(--pw-on-primary);font-weight:600;font-size:13.5px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
.talk:hover{filter:brightness(1.08)}
.file{display:inline-flex;align-items:center;gap:6px}
.note{font-size:11.5px;color:var(--pw-muted);margin:2px 4px;display:flex;gap:8px;align-items:center}
.note.err{color:var(--pw-danger)}
.note button{text-decoration:underline;font-size:11.5px}
.progress{width:140px;height:4px;border-radius:2px;background:var(--pw-border);overflow:hidden}
.progress i{display:block;height:100%;background:var(--pw-primary);transition:width .2s}
.rx{display:contents}
.reacts{display:flex;flex-wrap:wrap;gap:4px;margin:3px 2px 0}
.reacts:empty{display:none}
.chip{border:1px solid var(--pw-border);border-radius:12px;padding:0 7px;font-size:12.5px;line-height:22px;background:var(--pw-bg)}
.chip[aria-pressed=true]{border-color:var(--pw-primary);background:#eff6ff}
.addreact{position:absolute;top:22px;inset-inline-end:-30px;opacity:0;width:26px;height:26px;border-radius:13px;color:var(--pw-muted);display:grid;place-items:center}
.visitor .addreact{inset-inline-end:auto;inset-inline-start:-30px}
.addreact svg{width:16px;height:16px}
.msg:hover .addreact,.msg:focus-within .addreact,.addreact[aria-expanded=true]{opacity:1}
@media (hover:none){.addreact{opacity:1}}
.picker{position:absolute;z-index:2;top:calc(100% + 2px);inset-inline-start:0;display:flex;gap:2px;padding:3px;border:1px solid var(--pw-border);border-radius:16px;background:var(--pw-bg);box-shadow:0 4px 14px rgba(0,0,0,.12)}
.visitor .picker{inset-inline-start:auto;inset-inline-end:0}
.picker button{width:30px;height:30px;border-radius:15px;font-size:17px}
.picker button:hover,.picker button:focus-visible{background:var(--pw-bot)}
.rate{margin:4px 2px;padding:12px;border:1px solid var(--pw-border);border-radius:12px}
.rate-q{margin:0 0 8px;font-weight:600;text-align:center}
.rate>p{margin:0}
.stars{display:flex;justify-content:center;gap:4px;margin-bottom:8px}
.stars button{width:40px;height:40px;border-radius:8px;display:grid;place-items:center;color:var(--pw-muted)}
.stars svg{width:26px;height:26px}
.stars .on{color:#b45309}.stars .on svg{fill:currentColor}
.rate label{display:block;font-size:12.5px;color:var(--pw-muted)}
.rate textarea{display:block;width:100%;min-height:56px;margin-top:3px;resize:vertical;border:1px solid var(--pw-border);border-radius:8px;padding:7px 9px;font:inherit;color:var(--pw-text);background:var(--pw-bg)}
.rate-err{margin:6px 0 0;color:var(--pw-danger);font-size:12.5px}
.rate-err:empty{display:none}
.rate-send{margin-top:8px;width:100%;height:38px;border-radius:8px;background:var(--pw-primary);color:var(--pw-on-primary);font-weight:600}
.away{margin:4px 2px;padding:12px;border:1px solid var(--pw-border);border-radius:12px}
.away-q{margin:0 0 8px;font-weight:600}
.away>p.away-q{margin:0;font-weight:400}
.away label{display:block;font-size:12.5px;color:var(--pw-muted);margin-bottom:3px}
.away-row{display:flex;gap:6px}
.away-row input{flex:1;min-width:0;border:1px solid var(--pw-border);border-radius:8px;padding:8px 10px;font:inherit;font-size:16px;color:var(--pw-text);background:var(--pw-bg)}
.away-row input[aria-invalid=true]{border-color:var(--pw-danger)}
.away-send{flex:none;padding:0 14px;border-radius:8px;background:var(--pw-primary);color:var(--pw-on-primary);font-weight:600}
.away-err{margin:6px 0 0;color:var(--pw-danger);font-size:12.5px}
.away-err:empty{display:none}
.prechat{flex:1;overflow-y:auto;padding:14px 16px;display:flex;flex-direction:column;gap:10px}
.pre-q{margin:0;font-weight:600}
.pre-row{display:flex;flex-direction:column;gap:3px}
.pre-row label{font-size:12.5px;color:var(--pw-muted)}
.pre-row input,.pre-row select,.pre-row textarea{border:1px solid var(--pw-border);border-radius:8px;padding:8px 10px;font:inherit;font-size:16px;color:var(--pw-text);background:var(--pw-bg)}
.pre-row [aria-invalid=true]{border-color:var(--pw-danger)}
.pre-check{flex-direction:row;flex-wrap:wrap;align-items:flex-start;gap:8px}
.pre-check input{width:18px;height:18px;margin:1px 0 0;flex:none}
.pre-check label{flex:1;font-size:13px;color:var(--pw-text)}
.pre-field-err{color:var(--pw-danger);font-size:12.5px;flex-basis:100%}
.pre-field-err:empty{display:none}
.pre-err{margin:0;color:var(--pw-danger);font-size:12.5px}
.pre-err:empty{display:none}
.pre-send{height:40px;border-radius:8px;background:var(--pw-primary);color:var(--pw-on-primary);font-weight:600}
.panel[data-prechat] .list,.panel[data-prechat] .typing,.panel[data-prechat] .composer{display:none}
.typing{padding:0 16px 6px;font-size:12px;color:var(--pw-muted);display:flex;align-items:center;gap:6px;min-height:22px}
.dots{display:inline-flex;gap:3px;background:var(--pw-bot);padding:6px 8px;border-radius:10px}
.dots i{width:6px;height:6px;border-radius:50%;background:var(--pw-muted);animation:pw-b 1.2s infinite}
.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}
@keyframes pw-b{0%,60%,100%{transform:none;opacity:.45}30%{transform:translateY(-4px);opacity:1}}
.composer{border-top:1px solid var(--pw-border);padding:8px;display:flex;align-items:flex-end;gap:4px}
.composer textarea{flex:1;resize:none;unicode-bidi:plaintext;border:1px solid var(--pw-border);border-radius:12px;padding:9px 11px;font:inherit;font-size:16px;
  color:var(--pw-text);background:var(--pw-bg);max-height:120px;min-height:40px;line-height:1.35}
.composer textarea:focus{outline:2px solid var(--pw-primary);outline-offset:0;border-color:transparent}
.tool{width:38px;height:40px;border-radius:10px;display:grid;place-items:center;color:var(--pw-muted);flex:none}
.tool:hover{background:var(--pw-bot);color:var(--pw-text)}
.tool.send{color:var(--pw-primary)}
.rec{flex:1;display:flex;align-items:center;gap:8px;padding:0 8px;height:40px;color:var(--pw-danger);font-variant-numeric:tabular-nums}
.rec .dot{background:var(--pw-danger);animation:pw-p 1s infinite}
.tool.stop{background:var(--pw-danger);color:#fff;border-radius:20px}
.tool.stop svg{fill:currentColor}
@keyframes pw-p{50%{opacity:.3}}
[dir=rtl] .tool.send svg{transform:scaleX(-1)}
@media (max-width:480px){
  :host{bottom:14px;right:14px}:host([data-position=left]){left:14px}
  .panel{position:fixed;inset:0;width:100%;height:100%;height:100dvh;border-radius:0;
    padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}
  :host([data-open]) .launcher{display:none}
}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`;
