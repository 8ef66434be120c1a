import { byId, cell, el, pill } from './dom.js';
import { api, type InferenceMode, type PluginInfo, type Settings } from './gateway-api.js';
import { currentSettings, onSettings, patchSettings } from './switches-card.js';

// Plugins with their controls: on/off, local/cloud, and the per-site rules the extension's popup edits
// (settings.plugin_disabled_sites, through the same PATCH /api/settings).

/** A plugin switched off everywhere is one whose site rules include `*` (what every switch already understands). */
const EVERYWHERE = '*';
const ERROR_ID = 'plugins-error';

let plugins: PluginInfo[] = [];
/** What is typed in each plugin's site box: kept across redraws, so a refused pattern can be corrected. */
const drafts = new Map<string, string>();

const rulesOf = (settings: Settings, id: string) => settings.plugin_disabled_sites[id] ?? [];

/** Changes in click order, each worked out from the settings the previous one left: two quick clicks cannot undo each other. */
let queue: Promise<boolean> = Promise.resolve(true);
function change(patchFor: (latest: Settings) => Partial<Settings>): Promise<boolean> {
  queue = queue.then(() => {
    const latest = currentSettings();
    return latest ? patchSettings(patchFor(latest), ERROR_ID) : false;
  });
  return queue;
}

/** Replaces one plugin's site rules with `edit` of its current ones (the popup's PATCH, per key). */
const editRules = (id: string, edit: (rules: string[]) => string[]) =>
  change((latest) => ({ plugin_disabled_sites: { ...latest.plugin_disabled_sites, [id]: [...new Set(edit(rulesOf(latest, id)))] } }));

function setMode(id: string, mode: InferenceMode | ''): Promise<boolean> {
  return change((latest) => {
    const { [id]: _previous, ...others } = latest.plugin_modes;
    return { plugin_modes: mode ? { ...others, [id]: mode } : others };
  });
}

function onOffSwitch(plugin: PluginInfo, settings: Settings): HTMLElement {
  const off = rulesOf(settings, plugin.id).includes(EVERYWHERE);
  const box = el('input', {
    type: 'checkbox',
    checked: !off,
    disabled: plugin.status !== 'enabled',
    'aria-label': `${plugin.id} on`,
    onchange: (event: Event) => {
      const on = (event.target as HTMLInputElement).checked;
      void editRules(plugin.id, (rules) => (on ? rules.filter((rule) => rule !== EVERYWHERE) : [...rules, EVERYWHERE]));
    },
  });
  return el('label', { class: 'toggle' }, box, off ? 'off' : 'on');
}

/** The modes a plugin can run in: local only with a local backend; the default is the manifest's. */
function modeSelect(plugin: PluginInfo, settings: Settings): HTMLElement | string {
  const inference = plugin.inference;
  if (!inference) return el('span', { class: 'muted' }, 'no inference');
  const modes: InferenceMode[] = inference.local ? ['local', 'cloud'] : ['cloud'];
  const chosen = settings.plugin_modes[plugin.id] ?? '';
  return el(
    'select',
    {
      'aria-label': `${plugin.id} mode`,
      onchange: (event: Event) => void setMode(plugin.id, (event.target as HTMLSelectElement).value as InferenceMode | ''),
    },
    el('option', { value: '', selected: chosen === '' }, `default (${inference.default_mode})`),
    modes.map((mode) => el('option', { value: mode, selected: chosen === mode }, mode)),
  );
}

function siteRules(plugin: PluginInfo, settings: Settings): HTMLElement {
  const rules = rulesOf(settings, plugin.id).filter((rule) => rule !== EVERYWHERE);
  const chips = el(
    'ul',
    { class: 'chips' },
    rules.length === 0
      ? el('li', { class: 'empty' }, 'runs on every matching site')
      : rules.map((rule) =>
          el('li', {}, rule, el('button', { type: 'button', title: `Run ${plugin.id} on ${rule} again`, 'aria-label': `Remove ${rule} from ${plugin.id}`, onclick: () => void editRules(plugin.id, (current) => current.filter((r) => r !== rule)) }, '×')),
        ),
  );
  const input = el('input', {
    placeholder: 'example.com',
    value: drafts.get(plugin.id) ?? '',
    'aria-label': `Site where ${plugin.id} does not run`,
    oninput: () => drafts.set(plugin.id, input.value),
  });
  const form = el(
    'form',
    {
      class: 'row',
      onsubmit: (event: Event) => {
        event.preventDefault();
        // What was typed, even if a redraw replaced the box meanwhile (the draft follows every keystroke).
        const typed = drafts.get(plugin.id) ?? input.value;
        const pattern = typed.trim();
        if (!pattern) return;
        void editRules(plugin.id, (current) => [...current, pattern]).then((taken) => {
          if (!taken) return;
          // What was typed while it was being saved stays.
          if ((drafts.get(plugin.id) ?? typed) === typed) drafts.delete(plugin.id);
          const latest = currentSettings();
          if (latest) render(latest);
        });
      },
    },
    input,
    el('button', { type: 'submit', class: 'quiet' }, 'Turn off on site'),
  );
  return el('div', { class: 'site-rules' }, chips, form);
}

/** What the rows were last drawn from: the settings event after our own change redraws nothing. */
let drawn = '';

/**
 * Redraws `container` and puts the focus and caret back in the redrawn copy of the box being typed
 * in (found by its label): a settings event from elsewhere must not drop someone's typing.
 */
function redrawKeepingFocus(container: HTMLElement, redraw: () => void): void {
  const active = document.activeElement;
  const typing = active instanceof HTMLInputElement && container.contains(active) ? active : null;
  const label = typing?.getAttribute('aria-label');
  const caret = [typing?.selectionStart ?? null, typing?.selectionEnd ?? null] as const;
  redraw();
  if (!label) return;
  const again = container.querySelector<HTMLInputElement>(`input[aria-label="${CSS.escape(label)}"]`);
  again?.focus();
  if (again && caret[0] !== null && caret[1] !== null) again.setSelectionRange(caret[0], caret[1]);
}

function render(settings: Settings): void {
  const from = JSON.stringify([plugins, settings, [...drafts]]);
  if (from === drawn) return;
  drawn = from;
  const table = byId('plugins');
  redrawKeepingFocus(table, () => draw(table, settings));
}

function draw(table: HTMLElement, settings: Settings): void {
  table.replaceChildren(
    ...plugins.map((plugin) => {
      const matches = (plugin.content_scripts ?? []).flatMap((script) => script.matches);
      const details =
        plugin.status === 'error'
          ? el('ul', { class: 'errors' }, plugin.errors.map((error) => el('li', {}, error)))
          : el('span', { class: 'muted' }, plugin.description ?? '');
      return el(
        'tr',
        { 'data-plugin': plugin.id },
        cell('Plugin', el('strong', {}, plugin.name ?? plugin.id), el('div', { class: 'muted' }, `${plugin.id} ${plugin.version ?? ''}`), details),
        cell('State', pill(plugin.status)),
        cell('On', onOffSwitch(plugin, settings)),
        cell('Mode', modeSelect(plugin, settings)),
        cell('Runs on', el('code', {}, matches.join(' ') || '—')),
        cell('Not on', siteRules(plugin, settings)),
      );
    }),
  );
}

export async function loadPlugins(): Promise<void> {
  ({ plugins } = await api<{ plugins: PluginInfo[] }>('/api/plugins'));
  const settings = currentSettings();
  if (settings) render(settings);
}

/** Settings changed (here, in the popup, through the API): redraw the controls. */
onSettings(render);
