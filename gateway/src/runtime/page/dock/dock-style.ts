/**
 * The dock's style sheet. `:host` rules marked `!important` beat the page's own `!important` rules
 * for the host element (inside a shadow tree, important declarations win over the outer page's),
 * and `all: initial` stops inherited page styles at the border: page CSS cannot hide, move or
 * restyle the dock.
 */
export const DOCK_CSS = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  right: 8px !important;
  bottom: 8px !important;
  left: auto !important;
  top: auto !important;
  z-index: 2147483647 !important;
  visibility: visible !important;
  opacity: 1 !important;
  transform: none !important;
  filter: none !important;
  pointer-events: auto !important;
  width: auto !important;
  height: auto !important;
  margin: 0 !important;
  padding: 0 !important;
  contain: layout style !important;
}
* { box-sizing: border-box; }
.dock { display: flex; flex-direction: column; align-items: flex-end; gap: 6px;
  font: 12px/1.4 system-ui, sans-serif; color: #f8fafc; max-width: min(440px, calc(100vw - 16px)); }
.bar { display: flex; flex-wrap: wrap; justify-content: flex-end; align-items: center; gap: 4px;
  background: #0f172a; opacity: .94; padding: 4px; border-radius: 8px; box-shadow: 0 2px 8px rgba(0,0,0,.3); }
button { all: unset; cursor: pointer; font: 600 12px/1 system-ui, sans-serif; padding: 6px 9px; border-radius: 6px;
  color: #fff; background: #7c3aed; }
button:hover { background: #6d28d9; }
button:focus-visible { outline: 2px solid #93c5fd; outline-offset: 1px; }
button[disabled] { opacity: .6; cursor: progress; }
button.toggle { background: #334155; }
button.toggle:hover { background: #475569; }
.badge { padding: 5px 8px; border-radius: 6px; background: #1f2937; color: #e2e8f0; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; max-width: 360px; }
.busy { color: #fde68a; }
.error { color: #fca5a5; }
.panel { width: min(420px, calc(100vw - 16px)); max-height: 50vh; overflow: auto; background: #fff; color: #0f172a;
  border: 1px solid #ddd6fe; border-radius: 10px; box-shadow: 0 6px 20px rgba(0,0,0,.2); padding: 8px 12px; }
.panel .head { display: flex; align-items: center; gap: 8px; color: #5b21b6; font-size: 11px; margin-bottom: 4px; }
.panel .head span { flex: 1; }
.panel .head button { background: #a78bfa; padding: 3px 6px; font-size: 11px; }
.panel .body { white-space: pre-wrap; margin: 0; font-size: 13px; }
.panel.error .body { color: #b91c1c; }
.menu { display: flex; flex-direction: column; gap: 2px; background: #0f172a; padding: 4px; border-radius: 8px;
  box-shadow: 0 2px 8px rgba(0,0,0,.3); }
.menu button { background: transparent; font-weight: 400; text-align: left; }
.menu button:hover { background: #1e293b; }
.menu .owner { color: #94a3b8; margin-left: 6px; }
[hidden] { display: none !important; }
/* Another corner where the page's own fixed UI lies under the usual one (dock-placement.ts). */
:host([data-corner$="left"]) { left: 8px !important; right: auto !important; }
:host([data-corner^="top"]) { top: 8px !important; bottom: auto !important; }
:host([data-corner$="left"]) .dock { align-items: flex-start; }
:host([data-corner^="top"]) .dock { flex-direction: column-reverse; }
/* The dock is the user's tool, not the page: a printout (or a PDF) of the page leaves it out. */
@media print { :host { display: none !important; } }
`;
