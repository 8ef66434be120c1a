import { el, pluginRows } from './dom.js';
import { api, type CloudUsage } from './gateway-api.js';

// Cloud use by pages: GET /api/cloud/usage, then `cloud-usage` events.

export const onCloudUsage = pluginRows<CloudUsage>('cloud-usage', 'cloud-note', (row) =>
  el(
    'tr',
    { 'data-cloud-plugin': row.plugin },
    el('td', {}, row.plugin),
    el('td', {}, String(row.requests)),
    el('td', {}, `${row.lastMinute} / ${row.limits.requestsPerMinute}`),
    el('td', {}, `${row.tokens} (≤ ${row.limits.maxTokens} per answer)`),
    el('td', {}, String(row.rejected)),
  ),
);

export async function loadCloudUsage(): Promise<void> {
  const body = await api<{ plugins?: CloudUsage[] }>('/api/cloud/usage');
  for (const usage of body.plugins ?? []) onCloudUsage(usage);
}
