import { createSseParser } from '../../inference/sse-parser.js';
import { byId, el } from './dom.js';
import { api, apiHeaders } from './gateway-api.js';

// Built-in AI (Web AI, docs/WEBAI.md): what each API runs on and whether it is ready, the model
// download (only the user starts it unless webai.page_downloads), and the sites allowed to
// reach the cloud through it (settings.webai_cloud_origins).

interface WebAiStatus {
  enabled: boolean;
  model: string;
  modelSha256: string | null;
  apis: Array<{ api: string; backend: 'local' | 'cloud'; state: 'unavailable' | 'downloadable' | 'downloading' | 'available' }>;
}

interface WebAiSettings {
  webai_cloud_origins: string[];
}

/** The dashboard's pill colours for the specs' availability words. */
const PILL: Record<WebAiStatus['apis'][number]['state'], string> = { available: 'ready', downloadable: 'missing', downloading: 'downloading', unavailable: 'failed' };

let downloading = false;

/** Adds the card (its own section, before the log) so the page's markup stays as it is. */
export function mountWebAiCard(): void {
  const card = el(
    'section',
    { id: 'webai-card', class: 'card' },
    el('h2', {}, 'Built-in AI'),
    el('p', { id: 'webai-summary', class: 'muted' }),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'API'), el('th', {}, 'Runs on'), el('th', {}, 'State'))), el('tbody', { id: 'webai-apis' })),
    el('p', { class: 'row' }, el('button', { id: 'webai-download', type: 'button', hidden: true }, 'Download the model'), el('span', { id: 'webai-progress', class: 'muted' })),
    el('h3', {}, 'Sites allowed to use cloud AI'),
    el('ul', { id: 'webai-cloud-origins', class: 'chips' }),
    el(
      'form',
      { id: 'webai-add-origin', class: 'row' },
      el('input', { id: 'webai-origin', placeholder: 'https://example.com', 'aria-label': 'Site origin', required: true }),
      el('button', { type: 'submit' }, 'Allow cloud AI'),
    ),
    el('p', { id: 'webai-error', class: 'error', hidden: true }),
  );
  document.querySelector('main')?.insertBefore(card, document.getElementById('log-card'));
  byId('webai-download').addEventListener('click', () => void downloadModel());
  byId('webai-add-origin').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('webai-origin', HTMLInputElement);
    const typed = input.value;
    // The origin stays in the box until the gateway took it (a refused one can be corrected), and
    // what was typed while it was being saved is never wiped.
    void changeOrigins((origins) => [...new Set([...origins, typed.trim().replace(/\/+$/, '')])]).then((taken) => {
      if (taken && input.value === typed) input.value = '';
    });
  });
}

function render(status: WebAiStatus, origins: string[]): void {
  const cloud = status.apis.filter((entry) => entry.backend === 'cloud').map((entry) => entry.api);
  byId('webai-summary').textContent = !status.enabled
    ? 'Off (webai.enabled): pages get no built-in AI from AiPlugs.'
    : `Pages where AiPlugs runs get the browser's built-in AI APIs from ${status.model}. ${cloud.length === 0 ? 'Nothing goes to the cloud (webai.cloud_apis is empty).' : `In the cloud: ${cloud.join(', ')}, only for the sites below.`}`;
  byId('webai-apis').replaceChildren(...status.apis.map((entry) => el('tr', {}, el('td', {}, entry.api), el('td', {}, entry.backend), el('td', {}, el('span', { class: `pill state-${PILL[entry.state]}` }, entry.state)))));
  const llm = status.apis.find((entry) => entry.api === 'language-model');
  byId('webai-download').hidden = !status.enabled || downloading || llm?.backend !== 'local' || llm.state !== 'downloadable';
  byId('webai-cloud-origins').replaceChildren(
    ...(origins.length === 0
      ? [el('li', { class: 'empty' }, 'none')]
      : origins.map((origin) =>
          el('li', {}, origin, el('button', { type: 'button', title: `Stop ${origin} using cloud AI`, 'aria-label': `Remove ${origin}`, onclick: () => void changeOrigins((all) => all.filter((o) => o !== origin)) }, '×')),
        )),
  );
}

export async function loadWebAi(): Promise<void> {
  const [status, settings] = await Promise.all([api<WebAiStatus>('/api/webai/status'), api<WebAiSettings>('/api/settings')]);
  render(status, settings.webai_cloud_origins ?? []);
}

function showError(message: string | null): void {
  const error = byId('webai-error');
  error.textContent = message ?? '';
  error.hidden = message === null;
}

/** Replaces the allow list from the latest settings (the gateway checks every origin); whether it took the change. */
async function changeOrigins(change: (origins: string[]) => string[]): Promise<boolean> {
  showError(null);
  let taken = true;
  try {
    const { webai_cloud_origins: origins } = await api<WebAiSettings>('/api/settings');
    await api('/api/settings', { method: 'PATCH', body: JSON.stringify({ webai_cloud_origins: change(origins ?? []) }) });
  } catch (failure) {
    showError((failure as Error).message);
    taken = false;
  }
  await loadWebAi();
  return taken;
}

/** The user's own create(): the gateway downloads and verifies the model, with progress. */
async function downloadModel(): Promise<void> {
  downloading = true;
  showError(null);
  byId('webai-download').hidden = true;
  const progress = byId('webai-progress');
  try {
    const response = await fetch('/api/webai/language-model/create', { method: 'POST', headers: apiHeaders(), body: '{}' });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = createSseParser({ maxEventChars: 1 << 16 });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) {
        const data = JSON.parse(event.data) as { loaded?: number; error?: { message?: string } };
        if (event.event === 'progress' && typeof data.loaded === 'number') progress.textContent = `${Math.round(data.loaded * 100)}%`;
        if (event.event === 'error') throw new Error(data.error?.message ?? 'the download failed');
        if (event.event === 'ready') progress.textContent = 'ready';
      }
    }
  } catch (failure) {
    showError(`Model download: ${(failure as Error).message}`);
    progress.textContent = '';
  } finally {
    downloading = false;
    await loadWebAi().catch(() => undefined);
  }
}
