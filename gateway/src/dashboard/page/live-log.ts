import { byId, el } from './dom.js';
import type { LogEvent } from './gateway-api.js';

// Live log with filters.

const LEVELS: Record<string, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const MAX_LOG_LINES = 2000;
const scopes = new Set<string>();

const level = () => byId('log-level', HTMLSelectElement);
const scope = () => byId('log-scope', HTMLSelectElement);
const search = () => byId('log-search', HTMLInputElement);
const log = () => byId('log');

function logVisible(line: HTMLElement): boolean {
  const wanted = search().value.trim().toLowerCase();
  const shownScope = scope().value;
  return (
    (LEVELS[line.dataset.level ?? ''] ?? 0) >= (LEVELS[level().value] ?? 0) &&
    (!shownScope || line.dataset.scope === shownScope) &&
    (!wanted || (line.textContent ?? '').toLowerCase().includes(wanted))
  );
}

function applyLogFilters(): void {
  for (const line of log().children) if (line instanceof HTMLElement) line.hidden = !logVisible(line);
}

export function onLog(event: LogEvent): void {
  if (!scopes.has(event.scope)) {
    scopes.add(event.scope);
    scope().append(el('option', { value: event.scope }, event.scope));
  }
  const line = el(
    'li',
    { class: `lvl-${event.level}`, 'data-level': event.level, 'data-scope': event.scope },
    el('time', { datetime: event.time }, event.time.slice(11, 19)),
    el('span', { class: 'scope' }, `[${event.scope}]`),
    event.level === 'info' ? '' : `${event.level.toUpperCase()} `,
    event.message,
  );
  line.hidden = !logVisible(line);
  const lines = log();
  lines.append(line);
  while (lines.children.length > MAX_LOG_LINES) lines.firstElementChild?.remove();
  if (byId('log-follow', HTMLInputElement).checked) lines.scrollTop = lines.scrollHeight;
}

/** Every (re)connection of the event stream replays recent history first: start afresh to avoid doubles. */
export function clearLog(): void {
  log().replaceChildren();
}

export function wireLogFilters(): void {
  level().addEventListener('change', applyLogFilters);
  scope().addEventListener('change', applyLogFilters);
  search().addEventListener('input', applyLogFilters);
  byId('log-clear').addEventListener('click', clearLog);
}
