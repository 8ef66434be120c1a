import { byId, el } from './dom.js';
import { api, type Settings } from './gateway-api.js';
import { setPaused } from './status-pill.js';

// Switches: pause and per-site.

let settings: Settings | null = null;
const listeners = new Set<(current: Settings) => void>();

/** The settings as last loaded (null before the first load). */
export const currentSettings = (): Settings | null => settings;

/** Called with the settings each time they are (re)loaded or changed, here or elsewhere (the popup). */
export function onSettings(listener: (current: Settings) => void): void {
  listeners.add(listener);
}

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
  for (const listener of listeners) listener(current);
}

export async function loadSettings(): Promise<void> {
  settings = await api<Settings>('/api/settings');
  renderSettings(settings);
}

/** Changes settings through `PATCH /api/settings` (the popup's API); a refusal shows in `errorId`. Resolves to whether it was taken. */
export async function patchSettings(patch: Partial<Settings>, errorId = 'switches-error'): Promise<boolean> {
  const error = byId(errorId);
  error.hidden = true;
  try {
    settings = await api<Settings>('/api/settings', { method: 'PATCH', body: JSON.stringify(patch) });
    renderSettings(settings);
    return true;
  } catch (failure) {
    error.textContent = (failure as Error).message;
    error.hidden = false;
    await loadSettings();
    return false;
  }
}

export function wireSwitches(): void {
  byId('paused', HTMLInputElement).addEventListener('change', (event) => patchSettings({ paused: (event.target as HTMLInputElement).checked }));
  byId('add-site', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('site-pattern', HTMLInputElement);
    const typed = input.value;
    const pattern = typed.trim();
    if (!pattern || !settings) return;
    // The pattern stays in the box until the gateway took it (a refused one can be corrected), and
    // what was typed while it was being saved is never wiped.
    void patchSettings({ disabled_sites: [...new Set([...settings.disabled_sites, pattern])] }).then((taken) => {
      if (taken && input.value === typed) input.value = '';
    });
  });
}
