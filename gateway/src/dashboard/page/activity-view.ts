import { SKIP_REASONS, type SkipReason } from '../../events/activity-events.js';
import { byId, cell, el } from './dom.js';
import type { InferenceEvent, InjectionEvent } from './gateway-api.js';

// Activity: documents the proxy saw (injected, or why not) and inference calls, live from the
// event stream (`injection` and `inference` events; the gateway keeps the last logs.activity_events).

/** Rows kept in the page: the gateway's ring is the history, this only bounds a long-open tab. */
const MAX_ROWS = 1000;
const plugins = new Set<string>();

const kind = () => byId('activity-kind', HTMLSelectElement);
const outcome = () => byId('activity-outcome', HTMLSelectElement);
const plugin = () => byId('activity-plugin', HTMLSelectElement);
const search = () => byId('activity-search', HTMLInputElement);
const rows = () => byId('activity');

function visible(row: HTMLElement): boolean {
  const wanted = search().value.trim().toLowerCase();
  const shownPlugin = plugin().value;
  return (
    (!kind().value || row.dataset.kind === kind().value) &&
    (!outcome().value || row.dataset.outcome === outcome().value) &&
    (!shownPlugin || (row.dataset.plugins ?? '').split(' ').includes(shownPlugin)) &&
    (!wanted || (row.textContent ?? '').toLowerCase().includes(wanted))
  );
}

function updateCount(): void {
  const all = rows().children.length;
  const shown = [...rows().children].filter((row) => !(row as HTMLElement).hidden).length;
  byId('activity-note').textContent = all === 0 ? 'Nothing yet: open a page through the proxy.' : `${shown} of ${all} shown`;
}

function applyFilters(): void {
  for (const row of rows().children) if (row instanceof HTMLElement) row.hidden = !visible(row);
  updateCount();
}

function knowPlugins(ids: string[]): void {
  for (const id of ids) {
    if (plugins.has(id)) continue;
    plugins.add(id);
    plugin().append(el('option', { value: id }, id));
  }
}

function add(row: HTMLTableRowElement, pluginIds: string[]): void {
  knowPlugins(pluginIds);
  row.hidden = !visible(row);
  const list = rows();
  // Newest first: what just happened is what people look for.
  list.prepend(row);
  while (list.children.length > MAX_ROWS) list.lastElementChild?.remove();
  updateCount();
}

const timeCell = (time: string) => cell('Time', el('time', { datetime: time }, time.slice(11, 19)));
const reasonText = (reason: string) => SKIP_REASONS[reason as SkipReason] ?? reason;

export function onInjection(event: InjectionEvent): void {
  const injected = event.reason === null;
  const detail = injected ? `injected ${event.plugins.join(', ')}${event.csp ? ` (CSP: ${event.csp})` : ''}` : `not injected: ${reasonText(event.reason ?? '')}`;
  add(
    el(
      'tr',
      { 'data-kind': 'document', 'data-outcome': injected ? 'ok' : 'skipped', 'data-plugins': event.plugins.join(' ') },
      timeCell(event.time),
      cell('Kind', 'document'),
      cell('What', el('code', { class: 'url' }, event.url), el('span', { class: 'muted' }, ` ${event.status}`)),
      cell('Outcome', el('span', { class: injected ? 'ok-text' : 'muted' }, detail)),
    ),
    event.plugins,
  );
}

export function onInference(event: InferenceEvent): void {
  const who = event.caller === 'page' ? `page ${event.origin ?? ''}` : 'API';
  add(
    el(
      'tr',
      { 'data-kind': 'inference', 'data-outcome': event.error ? 'skipped' : 'ok', 'data-plugins': event.plugin },
      timeCell(event.time),
      cell('Kind', 'inference'),
      cell('What', el('strong', {}, event.plugin), el('span', { class: 'muted' }, ` ${event.mode ?? ''} · ${who}`)),
      cell('Outcome', el('span', { class: event.error ? 'error' : 'ok-text' }, `${event.error ? `failed: ${event.error}` : 'answered'} in ${event.durationMs} ms`)),
    ),
    [event.plugin],
  );
}

/** Every (re)connection of the event stream replays the gateway's history: start afresh. */
export function clearActivity(): void {
  rows().replaceChildren();
  updateCount();
}

export function wireActivityFilters(): void {
  for (const control of [kind(), outcome(), plugin()]) control.addEventListener('change', applyFilters);
  search().addEventListener('input', applyFilters);
  byId('activity-clear').addEventListener('click', clearActivity);
}
