import { byId, el } from './dom.js';
import { api, type CaChange, type CaStatus } from './gateway-api.js';

// CA certificate: where it is trusted, optional install with a warning.

export async function loadCa(): Promise<void> {
  const ca = await api<CaStatus>('/api/dashboard/ca');
  byId('ca-summary').textContent = ca.trustedAnywhere
    ? 'Trusted in a trust store on this machine (see below). Browsers started by `aiplugs browser` trust it in their own profile either way.'
    : 'Not installed in any trust store. Browsers started by `aiplugs browser` (and the Playwright helper) trust it inside their own temporary profile: nothing to install for them.';
  byId('ca-locations').replaceChildren(
    ...ca.stores.flatMap((store) =>
      store.locations.map((location) =>
        el(
          'li',
          { class: location.trusted ? 'yes' : 'no' },
          `${location.trusted ? '✓ trusted' : location.trusted === null ? '? unknown' : '✗ not trusted'} — ${store.label}: `,
          el('code', {}, location.location),
          location.addedByAiplugs ? ' (added by AiPlugs)' : '',
          location.error ? ` (${location.error})` : '',
        ),
      ),
    ),
  );
  byId('ca-instructions').textContent = ca.instructions;
  byId('ca-warning').textContent = ca.warning;
  const select = byId('ca-store', HTMLSelectElement);
  if (select.options.length === 0) {
    for (const store of ca.stores) select.append(el('option', { value: store.id, selected: ca.defaultStores.includes(store.id) }, `${store.label}${store.needsAdmin ? ' — needs admin' : ''}`));
  }
}

async function caAction(path: string, body: unknown): Promise<void> {
  const buttons = [byId('ca-install', HTMLButtonElement), byId('ca-uninstall', HTMLButtonElement)];
  const result = byId('ca-result');
  buttons.forEach((button) => (button.disabled = true));
  result.hidden = false;
  result.textContent = 'Working… (an administrator prompt may appear)';
  try {
    const { changes } = await api<{ changes: CaChange[] }>(path, { method: 'POST', body: JSON.stringify(body) });
    result.textContent = changes.length === 0 ? 'Nothing to do.' : changes.map((change) => `${change.outcome}: ${change.store} ${change.location}${change.error ? `\n  ${change.error}` : ''}`).join('\n');
  } catch (error) {
    result.textContent = `Failed: ${(error as Error).message}`;
  } finally {
    buttons.forEach((button) => (button.disabled = false));
    await loadCa();
  }
}

export function wireCaButtons(): void {
  byId('ca-install').addEventListener('click', () => {
    if (!confirm(`${byId('ca-warning').textContent}\n\nInstall the CA certificate?`)) return;
    void caAction('/api/dashboard/ca/install', { stores: [byId('ca-store', HTMLSelectElement).value] });
  });
  byId('ca-uninstall').addEventListener('click', () => caAction('/api/dashboard/ca/uninstall', {}));
}
