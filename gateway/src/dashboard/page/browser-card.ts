import { byId } from './dom.js';
import { api, type LaunchedBrowser } from './gateway-api.js';

// "Launch browser": the browser `aiplugs browser` opens, started by the gateway.

export function wireBrowserButton(): void {
  const button = byId('launch-browser', HTMLButtonElement);
  const result = byId('browser-result');
  byId('browser-form', HTMLFormElement).addEventListener('submit', async (event) => {
    event.preventDefault();
    const url = byId('browser-url', HTMLInputElement).value.trim();
    button.disabled = true;
    result.className = 'muted';
    result.textContent = 'Starting…';
    try {
      const launched = await api<LaunchedBrowser>('/api/dashboard/browser', { method: 'POST', body: JSON.stringify(url ? { url } : {}) });
      result.textContent = `Started ${launched.browser} (pid ${launched.pid}) through the proxy${launched.extensionLoaded ? ', with the extension' : ''}. Its profile is deleted when it closes.`;
    } catch (failure) {
      result.className = 'error';
      result.textContent = (failure as Error).message;
    } finally {
      button.disabled = false;
    }
  });
}
