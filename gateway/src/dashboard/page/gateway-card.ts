import { byId, el } from './dom.js';
import { formatDuration } from './format.js';
import { api, type Overview } from './gateway-api.js';
import { showStatus } from './status-pill.js';

// Gateway: addresses, uptime, stop.

let startedAt = Date.now();

export async function loadOverview(): Promise<void> {
  const info = await api<Overview>('/api/dashboard/overview');
  startedAt = Date.now() - info.uptimeSeconds * 1000;
  byId('version').textContent = `v${info.version}`;
  const rows: Array<[string, string]> = [
    ['API', info.apiUrl],
    ['Proxy', info.proxyUrl],
    ['CA certificate', info.caCertPath],
    ['CA SPKI (sha256)', info.caSpki],
    ['CA valid until', info.caNotAfter.slice(0, 10)],
    ['Data folder', info.dataDir],
    ['Process', `pid ${info.pid} on ${info.platform}`],
    ['System proxy', info.systemProxy ? `points at ${info.systemProxy.target.host}:${info.systemProxy.target.port} (since ${info.systemProxy.setAt}; \`aiplugs proxy reset\` undoes it)` : 'not changed (opt-in: `aiplugs proxy set`)'],
    ['Extension build', info.extensionBuilt ? 'found (aiplugs browser loads it)' : 'not built'],
  ];
  byId('addresses').replaceChildren(...rows.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]));
  byId('pair-url').textContent = info.apiUrl;
}

function tickUptime(): void {
  byId('uptime').textContent = `up ${formatDuration((Date.now() - startedAt) / 1000)}`;
}

export function startUptime(): void {
  tickUptime();
  setInterval(tickUptime, 1000);
}

export function wireStopButton(): void {
  byId('stop').addEventListener('click', async () => {
    if (!confirm('Stop the AiPlugs gateway? Pages stop getting plugins until it is started again.')) return;
    await api('/api/shutdown', { method: 'POST', body: '{}' }).catch(() => undefined);
    showStatus('stopped', 'bad');
  });
}
