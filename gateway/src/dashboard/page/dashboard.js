// The AiPlugs dashboard: plain DOM code, no framework and no build step. It talks to the gateway's
// own API with the session cookie its login link set, and follows GET /api/events (SSE) live.
// Every value from the gateway goes into textContent, never innerHTML.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };
const MAX_LOG_LINES = 2000;

/** Creates an element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  if (response.status === 401) {
    location.href = '/login';
    throw new Error('signed out');
  }
  const body = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']];
  return parts.filter(([value], index) => value > 0 || index === 3).slice(0, 2).map(([value, unit]) => `${value}${unit}`).join(' ');
}

const pill = (state) => el('span', { class: `pill state-${state}` }, state);

// ---------------------------------------------------------------------------------------------
// Gateway: addresses, uptime, stop

let startedAt = Date.now();

async function loadOverview() {
  const info = await api('/api/dashboard/overview');
  startedAt = Date.now() - info.uptimeSeconds * 1000;
  $('version').textContent = `v${info.version}`;
  const rows = [
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
  $('addresses').replaceChildren(...rows.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]));
  $('pair-url').textContent = info.apiUrl;
}

function tickUptime() {
  $('uptime').textContent = `up ${formatDuration((Date.now() - startedAt) / 1000)}`;
}

$('stop').addEventListener('click', async () => {
  if (!confirm('Stop the AiPlugs gateway? Pages stop getting plugins until it is started again.')) return;
  await api('/api/shutdown', { method: 'POST', body: '{}' }).catch(() => undefined);
  setConnection('stopped', 'bad');
});

// ---------------------------------------------------------------------------------------------
// Switches: pause and per-site

let settings = null;

function renderSettings() {
  $('paused').checked = settings.paused;
  const sites = settings.disabled_sites;
  $('disabled-sites').replaceChildren(
    ...(sites.length === 0
      ? [el('li', { class: 'empty' }, 'none')]
      : sites.map((site) => el('li', {}, site, el('button', { type: 'button', title: `Enable on ${site} again`, 'aria-label': `Remove ${site}`, onclick: () => patchSettings({ disabled_sites: sites.filter((s) => s !== site) }) }, '×')))),
  );
  if (settings.paused) setConnection('paused', 'warn');
  else if (connected) setConnection('running', 'ok');
}

async function loadSettings() {
  settings = await api('/api/settings');
  renderSettings();
}

async function patchSettings(patch) {
  $('switches-error').hidden = true;
  try {
    settings = await api('/api/settings', { method: 'PATCH', body: JSON.stringify(patch) });
    renderSettings();
  } catch (error) {
    $('switches-error').textContent = error.message;
    $('switches-error').hidden = false;
    await loadSettings();
  }
}

$('paused').addEventListener('change', (event) => patchSettings({ paused: event.target.checked }));
$('add-site').addEventListener('submit', (event) => {
  event.preventDefault();
  const pattern = $('site-pattern').value.trim();
  if (!pattern || !settings) return;
  $('site-pattern').value = '';
  patchSettings({ disabled_sites: [...new Set([...settings.disabled_sites, pattern])] });
});

// ---------------------------------------------------------------------------------------------
// Plugins

async function loadPlugins() {
  const { plugins } = await api('/api/plugins');
  const modes = settings?.plugin_modes ?? {};
  $('plugins').replaceChildren(
    ...plugins.map((plugin) => {
      const matches = (plugin.content_scripts ?? []).flatMap((script) => script.matches);
      const details = plugin.status === 'error'
        ? el('ul', { class: 'errors' }, plugin.errors.map((error) => el('li', {}, error)))
        : el('span', { class: 'muted' }, plugin.description ?? '');
      const mode = plugin.inference ? modes[plugin.id] ?? plugin.inference.default_mode : '—';
      return el('tr', { 'data-plugin': plugin.id },
        el('td', {}, el('strong', {}, plugin.name ?? plugin.id), el('div', { class: 'muted' }, plugin.id)),
        el('td', {}, plugin.version ?? ''),
        el('td', {}, pill(plugin.status)),
        el('td', {}, mode),
        el('td', {}, el('code', {}, matches.join(' ') || '—')),
        el('td', {}, details));
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Models: the list from GET /api/models, progress from `model-progress` events

/** filename → the last known row, merged from the list and the live events. */
const models = new Map();

function renderModels() {
  const rows = [...models.values()].sort((a, b) => a.filename.localeCompare(b.filename));
  $('models').replaceChildren(
    ...rows.map((model) => {
      const total = model.totalBytes ?? model.declaredSize ?? null;
      const received = model.state === 'ready' ? total ?? model.receivedBytes : model.receivedBytes;
      const percent = total && received !== null && received !== undefined ? Math.min(100, (received / total) * 100) : null;
      const label = model.state === 'downloading'
        ? `${formatBytes(received)} of ${formatBytes(total)}${model.bytesPerSecond ? ` at ${formatBytes(model.bytesPerSecond)}/s` : ''}`
        : model.state === 'ready' ? formatBytes(total ?? model.sizeOnDisk) : model.error ? model.error : total ? formatBytes(total) : '';
      // Indeterminate (no value) only while downloading an unknown size; otherwise an empty or full bar.
      const value = percent !== null ? percent.toFixed(1) : model.state === 'downloading' ? null : '0';
      const bar = el('progress', { max: 100, value, 'aria-label': `${model.filename} progress` });
      return el('tr', { 'data-model': model.filename },
        el('td', {}, el('code', {}, model.filename)),
        el('td', {}, (model.plugins ?? []).join(', ')),
        el('td', {}, pill(model.state)),
        el('td', {}, bar, el('div', { class: 'bar-label' }, `${percent === null ? '' : `${percent.toFixed(0)}% `}${label}`)));
    }),
  );
  if (rows.length > 0) $('models-note').textContent = '';
}

async function loadModels() {
  try {
    const body = await api('/api/models');
    for (const model of body.models ?? []) {
      models.set(model.filename, {
        ...models.get(model.filename),
        filename: model.filename,
        plugins: (model.plugins ?? []).map((owner) => owner.id ?? owner),
        state: model.state,
        receivedBytes: model.receivedBytes,
        totalBytes: model.totalBytes,
        declaredSize: model.declaredSize,
        sizeOnDisk: model.sizeOnDisk,
        bytesPerSecond: model.bytesPerSecond,
        error: model.error?.message ?? null,
      });
    }
    $('models-note').textContent = models.size === 0 ? 'No plugin declares a model.' : body.offline ? 'Offline mode: nothing is downloaded.' : '';
  } catch (error) {
    $('models-note').textContent = `Models are not available from this gateway (${error.message}).`;
  }
  renderModels();
}

function onModelProgress(event) {
  const known = models.get(event.filename) ?? { filename: event.filename, plugins: [] };
  const plugins = known.plugins.includes(event.plugin) ? known.plugins : [...known.plugins, event.plugin];
  models.set(event.filename, { ...known, plugins, state: event.state, receivedBytes: event.receivedBytes, totalBytes: event.totalBytes, bytesPerSecond: event.bytesPerSecond, error: event.error ?? null });
  renderModels();
}

// ---------------------------------------------------------------------------------------------
// Workers: from `worker-state` events

const workers = new Map();

/** GET /api/workers (when this gateway has workers): the state before any event arrives. */
async function loadWorkers() {
  try {
    const body = await api('/api/workers');
    for (const worker of body.workers ?? []) {
      const detail = [worker.pid ? `pid ${worker.pid}` : '', worker.runtime ?? '', worker.served ? `${worker.served} served` : '', worker.lastError ?? ''].filter(Boolean).join(' · ');
      onWorkerState({ plugin: worker.plugin, state: worker.state, time: worker.startedAt ?? new Date().toISOString(), detail });
    }
  } catch {
    // No worker routes in this build: events alone fill the table.
  }
}

function onWorkerState(event) {
  workers.set(event.plugin, event);
  $('workers-note').hidden = true;
  $('workers').replaceChildren(
    ...[...workers.values()].sort((a, b) => a.plugin.localeCompare(b.plugin)).map((worker) =>
      el('tr', { 'data-worker': worker.plugin }, el('td', {}, worker.plugin), el('td', {}, pill(worker.state)), el('td', {}, new Date(worker.time).toLocaleTimeString()), el('td', { class: 'muted' }, worker.detail ?? ''))),
  );
}

// ---------------------------------------------------------------------------------------------
// Cloud use by pages: GET /api/cloud/usage, then `cloud-usage` events

const cloudUsage = new Map();

async function loadCloudUsage() {
  const body = await api('/api/cloud/usage');
  for (const usage of body.plugins ?? []) onCloudUsage(usage);
}

function onCloudUsage(usage) {
  cloudUsage.set(usage.plugin, usage);
  $('cloud-note').hidden = true;
  $('cloud-usage').replaceChildren(
    ...[...cloudUsage.values()].sort((a, b) => a.plugin.localeCompare(b.plugin)).map((row) =>
      el(
        'tr',
        { 'data-cloud-plugin': row.plugin },
        el('td', {}, row.plugin),
        el('td', {}, String(row.requests)),
        el('td', {}, `${row.lastMinute} / ${row.limits.requestsPerMinute}`),
        el('td', {}, `${row.tokens} (≤ ${row.limits.maxTokens} per answer)`),
        el('td', {}, String(row.rejected)),
      )),
  );
}

// ---------------------------------------------------------------------------------------------
// CA certificate: where it is trusted, optional install with a warning

async function loadCa() {
  const ca = await api('/api/dashboard/ca');
  $('ca-summary').textContent = ca.trustedAnywhere
    ? 'Trusted in a trust store on this machine (see below). Browsers started by `aiplugs browser` trust it in their own profile either way.'
    : 'Not installed in any trust store. Browsers started by `aiplugs browser` (and the Playwright helper) trust it inside their own temporary profile: nothing to install for them.';
  $('ca-locations').replaceChildren(
    ...ca.stores.flatMap((store) =>
      store.locations.map((location) =>
        el('li', { class: location.trusted ? 'yes' : 'no' }, `${location.trusted ? '✓ trusted' : location.trusted === null ? '? unknown' : '✗ not trusted'} — ${store.label}: `, el('code', {}, location.location), location.addedByAiplugs ? ' (added by AiPlugs)' : '', location.error ? ` (${location.error})` : '')),
    ),
  );
  $('ca-instructions').textContent = ca.instructions;
  $('ca-warning').textContent = ca.warning;
  const select = /** @type {HTMLSelectElement} */ ($('ca-store'));
  if (select.options.length === 0) {
    for (const store of ca.stores) select.append(el('option', { value: store.id, selected: ca.defaultStores.includes(store.id) }, `${store.label}${store.needsAdmin ? ' — needs admin' : ''}`));
  }
}

async function caAction(path, body) {
  const buttons = [$('ca-install'), $('ca-uninstall')];
  buttons.forEach((button) => (button.disabled = true));
  $('ca-result').hidden = false;
  $('ca-result').textContent = 'Working… (an administrator prompt may appear)';
  try {
    const { changes } = await api(path, { method: 'POST', body: JSON.stringify(body) });
    $('ca-result').textContent = changes.length === 0 ? 'Nothing to do.' : changes.map((change) => `${change.outcome}: ${change.store} ${change.location}${change.error ? `\n  ${change.error}` : ''}`).join('\n');
  } catch (error) {
    $('ca-result').textContent = `Failed: ${error.message}`;
  } finally {
    buttons.forEach((button) => (button.disabled = false));
    await loadCa();
  }
}

$('ca-install').addEventListener('click', () => {
  if (!confirm($('ca-warning').textContent + '\n\nInstall the CA certificate?')) return;
  caAction('/api/dashboard/ca/install', { stores: [$('ca-store').value] });
});
$('ca-uninstall').addEventListener('click', () => caAction('/api/dashboard/ca/uninstall', {}));

// ---------------------------------------------------------------------------------------------
// Pairing token

async function loadPairing() {
  const { token } = await api('/api/dashboard/pairing');
  $('token').value = token;
}
$('token-show').addEventListener('click', () => {
  const input = $('token');
  input.type = input.type === 'password' ? 'text' : 'password';
  $('token-show').textContent = input.type === 'password' ? 'Show' : 'Hide';
});
$('token-copy').addEventListener('click', async () => {
  await navigator.clipboard.writeText($('token').value).then(() => ($('token-copy').textContent = 'Copied'), () => ($('token-copy').textContent = 'Copy failed'));
  setTimeout(() => ($('token-copy').textContent = 'Copy'), 1500);
});

// ---------------------------------------------------------------------------------------------
// Live log with filters

const scopes = new Set();

function logVisible(line) {
  const level = $('log-level').value;
  const scope = $('log-scope').value;
  const search = $('log-search').value.trim().toLowerCase();
  return LEVELS[line.dataset.level] >= LEVELS[level] && (!scope || line.dataset.scope === scope) && (!search || line.textContent.toLowerCase().includes(search));
}

function applyLogFilters() {
  for (const line of $('log').children) line.hidden = !logVisible(line);
}

function onLog(event) {
  if (!scopes.has(event.scope)) {
    scopes.add(event.scope);
    $('log-scope').append(el('option', { value: event.scope }, event.scope));
  }
  const line = el('li', { class: `lvl-${event.level}`, 'data-level': event.level, 'data-scope': event.scope },
    el('time', { datetime: event.time }, event.time.slice(11, 19)), el('span', { class: 'scope' }, `[${event.scope}]`), event.level === 'info' ? '' : `${event.level.toUpperCase()} `, event.message);
  line.hidden = !logVisible(line);
  const log = $('log');
  log.append(line);
  while (log.children.length > MAX_LOG_LINES) log.firstElementChild?.remove();
  if ($('log-follow').checked) log.scrollTop = log.scrollHeight;
}

for (const id of ['log-level', 'log-scope']) $(id).addEventListener('change', applyLogFilters);
$('log-search').addEventListener('input', applyLogFilters);
$('log-clear').addEventListener('click', () => $('log').replaceChildren());

// ---------------------------------------------------------------------------------------------
// Live connection

let connected = false;

function setConnection(text, kind) {
  $('state').textContent = text;
  $('state').className = `pill ${kind}`;
}

function connectEvents() {
  const source = new EventSource('/api/events');
  const handlers = { log: onLog, 'model-progress': onModelProgress, 'worker-state': onWorkerState, 'cloud-usage': onCloudUsage, settings: () => loadSettings().catch(() => undefined) };
  for (const [type, handle] of Object.entries(handlers)) {
    source.addEventListener(type, (message) => {
      try {
        handle(JSON.parse(message.data));
      } catch (error) {
        console.error('dashboard event', type, error);
      }
    });
  }
  source.addEventListener('open', () => {
    // Every (re)connection replays recent history first: start the log afresh to avoid doubles.
    $('log').replaceChildren();
    connected = true;
    if (settings?.paused) setConnection('paused', 'warn');
    else setConnection('running', 'ok');
  });
  source.addEventListener('error', () => {
    connected = false;
    setConnection('disconnected — retrying', 'bad');
  });
}

async function start() {
  await Promise.all([loadOverview(), loadSettings()]);
  await Promise.all([loadPlugins(), loadModels(), loadWorkers(), loadCloudUsage(), loadCa(), loadPairing()]);
  tickUptime();
  setInterval(tickUptime, 1000);
  connectEvents();
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  setConnection(`error: ${error.message}`, 'bad');
});
