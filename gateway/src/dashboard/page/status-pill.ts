import { byId } from './dom.js';

/** The header's state pill: running, paused, disconnected, stopped or an error. */
let connected = false;
let paused = false;

export function showStatus(text: string, kind: 'ok' | 'warn' | 'bad'): void {
  const state = byId('state');
  state.textContent = text;
  state.className = `pill ${kind}`;
}

/** Running or paused, once the live connection is up; nothing to show before that. */
function showSwitchState(): void {
  if (paused) showStatus('paused', 'warn');
  else if (connected) showStatus('running', 'ok');
}

export function setPaused(value: boolean): void {
  paused = value;
  showSwitchState();
}

export function setConnected(value: boolean): void {
  connected = value;
  if (value) showSwitchState();
  else showStatus('disconnected — retrying', 'bad');
}
