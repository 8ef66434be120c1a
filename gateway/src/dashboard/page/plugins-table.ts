import { byId, el, pill } from './dom.js';
import { api, type PluginInfo } from './gateway-api.js';
import { currentSettings } from './switches-card.js';

export async function loadPlugins(): Promise<void> {
  const { plugins } = await api<{ plugins: PluginInfo[] }>('/api/plugins');
  const modes = currentSettings()?.plugin_modes ?? {};
  byId('plugins').replaceChildren(
    ...plugins.map((plugin) => {
      const matches = (plugin.content_scripts ?? []).flatMap((script) => script.matches);
      const details =
        plugin.status === 'error'
          ? el('ul', { class: 'errors' }, plugin.errors.map((error) => el('li', {}, error)))
          : el('span', { class: 'muted' }, plugin.description ?? '');
      const mode = plugin.inference ? (modes[plugin.id] ?? plugin.inference.default_mode) : '—';
      return el(
        'tr',
        { 'data-plugin': plugin.id },
        el('td', {}, el('strong', {}, plugin.name ?? plugin.id), el('div', { class: 'muted' }, plugin.id)),
        el('td', {}, plugin.version ?? ''),
        el('td', {}, pill(plugin.status)),
        el('td', {}, mode),
        el('td', {}, el('code', {}, matches.join(' ') || '—')),
        el('td', {}, details),
      );
    }),
  );
}
