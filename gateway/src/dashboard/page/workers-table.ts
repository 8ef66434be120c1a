import { el, pill, pluginRows } from './dom.js';
import { api, type WorkerInfo, type WorkerStateEvent } from './gateway-api.js';

// Workers: from `worker-state` events, seeded from GET /api/workers.

export const onWorkerState = pluginRows<WorkerStateEvent>('workers', 'workers-note', (worker) =>
  el('tr', { 'data-worker': worker.plugin }, el('td', {}, worker.plugin), el('td', {}, pill(worker.state)), el('td', {}, new Date(worker.time).toLocaleTimeString()), el('td', { class: 'muted' }, worker.detail ?? '')),
);

/** GET /api/workers (when this gateway has workers): the state before any event arrives. */
export async function loadWorkers(): Promise<void> {
  try {
    const body = await api<{ workers?: WorkerInfo[] }>('/api/workers');
    for (const worker of body.workers ?? []) {
      const detail = [worker.pid ? `pid ${worker.pid}` : '', worker.runtime ?? '', worker.served ? `${worker.served} served` : '', worker.lastError ?? ''].filter(Boolean).join(' · ');
      onWorkerState({ plugin: worker.plugin, state: worker.state, time: worker.startedAt ?? new Date().toISOString(), detail });
    }
  } catch {
    // No worker routes in this build: events alone fill the table.
  }
}
