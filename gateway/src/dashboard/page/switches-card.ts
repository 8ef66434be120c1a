import { byId, el } from './dom.js';
import { api, type Settings } from './gateway-api.js';
import { setPaused } from './status-pill.js';

// Switches: pause and per-site.

let settings: Settings | null = null;

/** The settings as last loaded (null before the first load). */
export const currentSettings = (): Settings | null => settings;

function renderSettings(current: Settings): void {
  byId('paused', HTMLInputElement).checked = current.paused;
  const sites = current.disabled_sites;
  byId('disabled-sites').replaceChildren(
    ...(sites.length === 0
      ? [el('li', { class: 'empty' }, 'none')]
      : sites.map((site) =>
          el('li', {}, site, el('button', { type: 'button', title: `Enable on ${site} again`, 'aria-label': `Remove ${site}`, onclick: () => patchSettings({ disabled_sites: sites.filter((s) => s !== site) }) }, '×')),
        )),
  );
  setPaused(current.paused);
}

export async function loadSettings(): Promise<void> {
  settings = await api<Settings>('/api/settings');
  renderSettings(settings);
}

async function patchSettings(patch: Partial<Settings>): Promise<void> {
  const error = byId('switches-error');
  error.hidden = true;
  try {
    settings = await api<Settings>('/api/settings', { method: 'PATCH', body: JSON.stringify(patch) });
    renderSettings(settings);
  } catch (failure) {
    error.textContent = (failure as Error).message;
    error.hidden = false;
    await loadSettings();
  }
}

export function wireSwitches(): void {
  byId('paused', HTMLInputElement).addEventListener('change', (event) => patchSettings({ paused: (event.target as HTMLInputElement).checked }));
  byId('add-site', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('site-pattern', HTMLInputElement);
    const pattern = input.value.trim();
    if (!pattern || !settings) return;
    input.value = '';
    void patchSettings({ disabled_sites: [...new Set([...settings.disabled_sites, pattern])] });
  });
}
