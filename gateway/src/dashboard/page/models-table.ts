import { byId, cell, el, pill } from './dom.js';
import { formatBytes } from './format.js';
import { api, type ModelInfo, type ModelProgressEvent } from './gateway-api.js';

// Models: the list from GET /api/models, progress from `model-progress` events.

interface ModelRow {
  filename: string;
  plugins: string[];
  state: string;
  receivedBytes?: number | null | undefined;
  totalBytes?: number | null | undefined;
  declaredSize?: number | null | undefined;
  sizeOnDisk?: number | null | undefined;
  bytesPerSecond?: number | null | undefined;
  error: string | null;
}

/** filename → the last known row, merged from the list and the live events. */
const models = new Map<string, ModelRow>();

function progressLabel(model: ModelRow, received: number | null | undefined, total: number | null): string {
  if (model.state === 'downloading') return `${formatBytes(received)} of ${formatBytes(total)}${model.bytesPerSecond ? ` at ${formatBytes(model.bytesPerSecond)}/s` : ''}`;
  if (model.state === 'ready') return formatBytes(total ?? model.sizeOnDisk);
  if (model.error) return model.error;
  return total ? formatBytes(total) : '';
}

/**
 * Asks the gateway to download (`pull`) or re-hash (`verify`) the models of the plugin that
 * declares this one; progress comes as events. The row shows the pending state before the request
 * goes out: the events can overtake the request's answer, and the last event must win.
 */
async function runAction(filename: string, action: 'pull' | 'verify'): Promise<void> {
  const error = byId('models-error');
  error.hidden = true;
  const before = models.get(filename);
  const plugin = before?.plugins[0];
  if (!before || !plugin) return;
  const pending: ModelRow = { ...before, state: action === 'pull' ? 'downloading' : 'verifying', error: null };
  models.set(filename, pending);
  renderModels();
  try {
    await api(`/api/models/${action}`, { method: 'POST', body: JSON.stringify({ plugin }) });
  } catch (failure) {
    // Refused: nothing started, so the row goes back to what it was (unless an event moved it on).
    if (models.get(filename) === pending) {
      models.set(filename, before);
      renderModels();
    }
    error.textContent = `${action === 'pull' ? 'Download' : 'Verify'} ${filename}: ${(failure as Error).message}`;
    error.hidden = false;
  }
}

const BUSY_STATES = new Set(['downloading', 'verifying']);

function actions(model: ModelRow): HTMLElement {
  const busy = BUSY_STATES.has(model.state);
  return el(
    'div',
    { class: 'row actions' },
    el('button', { type: 'button', disabled: busy || model.state === 'ready', 'aria-label': `Download ${model.filename}`, onclick: () => void runAction(model.filename, 'pull') }, 'Download'),
    el('button', { type: 'button', class: 'quiet', disabled: busy, 'aria-label': `Verify ${model.filename}`, onclick: () => void runAction(model.filename, 'verify') }, 'Verify'),
  );
}

function renderModels(): void {
  const rows = [...models.values()].sort((a, b) => a.filename.localeCompare(b.filename));
  byId('models').replaceChildren(
    ...rows.map((model) => {
      const total = model.totalBytes ?? model.declaredSize ?? null;
      const received = model.state === 'ready' ? (total ?? model.receivedBytes) : model.receivedBytes;
      const percent = total && received !== null && received !== undefined ? Math.min(100, (received / total) * 100) : null;
      // Indeterminate (no value) only while downloading an unknown size; otherwise an empty or full bar.
      const value = percent !== null ? percent.toFixed(1) : model.state === 'downloading' ? null : '0';
      const bar = el('progress', { max: 100, value, 'aria-label': `${model.filename} progress` });
      return el(
        'tr',
        { 'data-model': model.filename },
        cell('File', el('code', {}, model.filename)),
        cell('Plugins', model.plugins.join(', ')),
        cell('State', pill(model.state)),
        cell(
          'Progress',
          bar,
          el('div', { class: model.error ? 'bar-label error' : 'bar-label' }, `${percent === null ? '' : `${percent.toFixed(0)}% `}${progressLabel(model, received, total)}`),
        ),
        cell('Actions', actions(model)),
      );
    }),
  );
  if (rows.length > 0) byId('models-note').textContent = '';
}

export async function loadModels(): Promise<void> {
  const note = byId('models-note');
  try {
    const body = await api<{ models?: ModelInfo[]; offline?: boolean }>('/api/models');
    for (const model of body.models ?? []) {
      models.set(model.filename, {
        ...models.get(model.filename),
        filename: model.filename,
        plugins: (model.plugins ?? []).map((owner) => (typeof owner === 'string' ? owner : owner.id)),
        state: model.state,
        receivedBytes: model.receivedBytes,
        totalBytes: model.totalBytes,
        declaredSize: model.declaredSize,
        sizeOnDisk: model.sizeOnDisk,
        bytesPerSecond: model.bytesPerSecond,
        error: model.error?.message ?? null,
      });
    }
    note.textContent = models.size === 0 ? 'No plugin declares a model.' : body.offline ? 'Offline mode: nothing is downloaded.' : '';
  } catch (error) {
    note.textContent = `Models are not available from this gateway (${(error as Error).message}).`;
  }
  renderModels();
}

export function onModelProgress(event: ModelProgressEvent): void {
  const known = models.get(event.filename) ?? { filename: event.filename, plugins: [], state: event.state, error: null };
  const plugins = known.plugins.includes(event.plugin) ? known.plugins : [...known.plugins, event.plugin];
  models.set(event.filename, { ...known, plugins, state: event.state, receivedBytes: event.receivedBytes, totalBytes: event.totalBytes, bytesPerSecond: event.bytesPerSecond, error: event.error ?? null });
  renderModels();
}
