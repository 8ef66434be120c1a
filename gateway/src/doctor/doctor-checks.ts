import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import getPort, { portNumbers } from 'get-port';
import { builtExtensionDir } from '../browser/browser-args.js';
import { findBrowser } from '../browser/find-browser.js';
import { findRunningGateway } from '../browser/gateway-link.js';
import type { GatewayConfig } from '../config/config-schema.js';
import { clearRuntimeInfo, readRuntimeInfo } from '../data/data-dir.js';
import { LOOPBACK } from '../net/pick-port.js';
import { LISTENERS, portInUseFix, portIsFree } from '../net/port-in-use.js';
import { findOnPath, runCommand, type CommandRunner } from '../os/run-command.js';
import { loadPlugins } from '../plugins/plugin-registry.js';
import { detectProxyBackend, isProcessAlive, readSavedProxyState, resetSystemProxy } from '../system-proxy/system-proxy.js';
import type { SystemProxyBackend } from '../system-proxy/proxy-backend.js';
import { caIdentity } from '../trust/ca-identity.js';
import { trustStatus, type CaTrustOptions } from '../trust/ca-trust.js';
import { PYTHON_FIX, pluginsNeedingPython, probePython } from '../workers/python-check.js';
import { PACKAGE_ROOT } from '../package-paths.js';

/**
 * `warn` and `error` are problems (doctor exits 5); `optional` is a step that is not needed but
 * would unlock something (installing the CA system-wide, building the extension), with its fix.
 */
export type FindingLevel = 'ok' | 'info' | 'optional' | 'warn' | 'error';

export const isProblem = (finding: Finding): boolean => finding.level === 'warn' || finding.level === 'error';

/** One result of `aiplugs doctor`: what was found and, for every problem, how to fix it. */
export interface Finding {
  check: string;
  level: FindingLevel;
  message: string;
  /** What to do about it, in words or as a command. */
  fix?: string;
  /** A safe automatic fix that `doctor --fix` applies; returns what it did. */
  autoFix?: () => Promise<string>;
}

export interface DoctorOptions {
  dataDir: string;
  config: GatewayConfig;
  env?: NodeJS.ProcessEnv;
  run?: CommandRunner;
  /** Trust-store options (tests use a fresh HOME). */
  trust?: Partial<CaTrustOptions>;
  /** The system proxy backend, or null for none (default: detected). */
  proxyBackend?: SystemProxyBackend | null;
  /** Free-space thresholds in bytes. */
  diskWarnBytes?: number;
  diskErrorBytes?: number;
  now?: () => number;
}

const GiB = 1024 ** 3;

/** True when nothing accepts connections on 127.0.0.1:port. */
function nothingListens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: LOOPBACK, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function checkGateway(options: DoctorOptions): Promise<{ findings: Finding[]; running: boolean }> {
  const running = await findRunningGateway(options.dataDir);
  if (running) return { running: true, findings: [{ check: 'gateway', level: 'ok', message: `Gateway running (pid ${running.runtime.pid}) at ${running.runtime.apiUrl}, proxy ${running.runtime.proxyUrl}` }] };
  const runtime = await readRuntimeInfo(options.dataDir);
  if (runtime && !isProcessAlive(runtime.pid)) {
    return {
      running: false,
      findings: [{
        check: 'gateway',
        level: 'warn',
        message: `runtime.json names gateway pid ${runtime.pid}, which is gone (it crashed or was killed); the extension and CLI would look for it at ${runtime.apiUrl}`,
        fix: `remove ${join(options.dataDir, 'runtime.json')} (doctor --fix does)`,
        autoFix: async () => {
          await clearRuntimeInfo(options.dataDir, runtime.pid);
          return 'removed the stale runtime.json';
        },
      }],
    };
  }
  if (runtime) return { running: false, findings: [{ check: 'gateway', level: 'warn', message: `Gateway pid ${runtime.pid} is alive but its API ${runtime.apiUrl} does not answer`, fix: 'aiplugs stop --force, then aiplugs start' }] };
  return { running: false, findings: [{ check: 'gateway', level: 'info', message: 'Gateway not running (start it with `aiplugs start`)' }] };
}

async function checkPorts(options: DoctorOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  const entries = [
    { listener: 'api' as const, ...LISTENERS.api, port: options.config.api.port, range: options.config.api.port_range },
    { listener: 'proxy' as const, ...LISTENERS.proxy, port: options.config.proxy.port, range: options.config.proxy.port_range },
  ];
  for (const entry of entries) {
    if (entry.port !== null && entry.port !== 0) {
      if (await portIsFree(entry.port)) findings.push({ check: 'ports', level: 'ok', message: `${entry.name} port ${entry.port} is free` });
      else {
        findings.push({
          check: 'ports',
          level: 'error',
          message: `${entry.name} port ${entry.port} (configured) is taken by another program: the gateway cannot start`,
          fix: portInUseFix(entry.listener, entry.port),
        });
      }
      continue;
    }
    const [low, high] = entry.range;
    const free = await getPort({ host: LOOPBACK, port: portNumbers(low, high) });
    if (free >= low && free <= high) findings.push({ check: 'ports', level: 'ok', message: `${entry.name} port: ${free} is free in ${low}-${high}` });
    else findings.push({ check: 'ports', level: 'error', message: `${entry.name}: no free port in ${low}-${high}`, fix: `free one, or set ${entry.flag} 0 (any free port) / ${entry.env}_RANGE` });
  }
  return findings;
}

async function checkCa(options: DoctorOptions): Promise<Finding[]> {
  const certPath = join(options.dataDir, 'ca.pem');
  const pem = await readFile(certPath, 'utf8').catch(() => null);
  if (!pem) return [{ check: 'ca', level: 'info', message: 'No CA yet: the gateway creates one on its first start' }];
  const findings: Finding[] = [];
  const daysLeft = (new Date(new X509Certificate(pem).validTo).getTime() - (options.now?.() ?? Date.now())) / 86_400_000;
  if (daysLeft < 0) findings.push({ check: 'ca', level: 'error', message: 'The CA certificate has expired', fix: 'restart the gateway: it renews the CA on start (then re-run `aiplugs ca install` if you had installed it)' });
  else if (daysLeft < options.config.ca.renew_before_days) findings.push({ check: 'ca', level: 'warn', message: `The CA expires in ${Math.floor(daysLeft)} days`, fix: 'restart the gateway to renew it, then `aiplugs ca install` again if you use a trust store' });
  const status = await trustStatus(caIdentity(certPath, pem), { dataDir: options.dataDir, ...options.trust });
  const trusted = status.stores.flatMap((store) => store.locations.filter((location) => location.trusted).map((location) => `${store.id} ${location.location}`));
  if (trusted.length > 0) findings.push({ check: 'ca', level: 'ok', message: `CA trusted in ${trusted.join(', ')}` });
  else {
    // Not a problem: `aiplugs browser` and the Playwright helper trust it by SPKI in their own profile.
    findings.push({
      check: 'ca',
      level: 'optional',
      message: 'The CA is in no trust store: fine for `aiplugs browser` (it trusts the CA in its own profile); a browser you start yourself through the proxy would show certificate errors',
      fix: '`aiplugs ca install` for browsers you start yourself (read its warning first), or start Chromium with the SPKI flag (README)',
    });
  }
  const errors = status.stores.flatMap((store) => store.locations.filter((location) => location.error).map((location) => `${store.id}: ${location.error}`));
  if (errors.length > 0) findings.push({ check: 'ca', level: 'info', message: `Could not check every trust store: ${errors.join('; ')}` });
  return findings;
}

async function checkBrowser(options: DoctorOptions): Promise<Finding[]> {
  const found = await findBrowser(options.env ? { env: options.env } : {});
  if (!found) return [{ check: 'browser', level: 'warn', message: 'No Chromium-family browser found (`aiplugs browser`, the Playwright helper and the e2e tests need one)', fix: 'install Chromium (Debian/Ubuntu: `apt-get install chromium`) or set AIPLUGS_BROWSER=/path/to/chrome' }];
  const version = await (options.run ?? runCommand)({ file: found.path, args: ['--version'] }).catch(() => null);
  const line = version?.stdout.split('\n').find((text) => /\d+\.\d+/.test(text))?.trim();
  return [{ check: 'browser', level: 'ok', message: `${found.name}: ${found.path}${line ? ` (${line})` : ''}` }];
}

async function checkPython(options: DoctorOptions): Promise<Finding[]> {
  const python = options.config.workers.python;
  const probe = await probePython(python, options.run);
  if (probe.ok) return [{ check: 'python', level: 'ok', message: `${probe.version} (${python})` }];
  const records = await loadPlugins(pluginsDirOf(options)).catch(() => []);
  const needing = pluginsNeedingPython(records, python);
  if (needing.length === 0) return [{ check: 'python', level: 'optional', message: `${probe.problem}: no installed plugin needs it; Python backends would`, fix: PYTHON_FIX }];
  return [{ check: 'python', level: 'warn', message: `${probe.problem}: the Python backends of ${needing.join(', ')} cannot start`, fix: PYTHON_FIX }];
}

const modelsDirOf = (options: DoctorOptions) => options.config.models_dir ?? options.env?.AIPLUGS_MODELS_DIR ?? fileURLToPath(new URL('models', PACKAGE_ROOT));

async function checkDisk(options: DoctorOptions): Promise<Finding[]> {
  const warnBytes = options.diskWarnBytes ?? 2 * GiB;
  const errorBytes = options.diskErrorBytes ?? 0.25 * GiB;
  const findings: Finding[] = [];
  for (const [what, dir] of [['models folder', modelsDirOf(options)], ['data dir', options.dataDir]] as const) {
    const info = await statfs(existsSync(dir) ? dir : join(dir, '..')).catch(() => null);
    if (!info) continue;
    const free = info.bavail * info.bsize;
    const shown = `${(free / GiB).toFixed(1)} GiB free for the ${what} (${dir})`;
    if (free < errorBytes) findings.push({ check: 'disk', level: 'error', message: shown, fix: 'free disk space, or move models elsewhere: --models-dir / AIPLUGS_MODELS_DIR' });
    else if (free < warnBytes) findings.push({ check: 'disk', level: 'warn', message: `Only ${shown}: model downloads may fail`, fix: 'free disk space, or move models elsewhere: --models-dir / AIPLUGS_MODELS_DIR' });
    else findings.push({ check: 'disk', level: 'ok', message: shown });
  }
  return findings;
}

async function checkStaleParts(options: DoctorOptions): Promise<Finding[]> {
  const dir = modelsDirOf(options);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const limitMs = options.config.models.stale_part_hours * 3600_000;
  const now = options.now?.() ?? Date.now();
  const stale: Array<{ path: string; bytes: number }> = [];
  for (const name of entries.filter((entry) => entry.endsWith('.part'))) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info && now - info.mtimeMs > limitMs) stale.push({ path, bytes: info.size });
  }
  if (stale.length === 0) return [{ check: 'stale-parts', level: 'ok', message: `No stale partial downloads in ${dir}` }];
  const total = stale.reduce((sum, part) => sum + part.bytes, 0);
  return [{
    check: 'stale-parts',
    level: 'warn',
    message: `${stale.length} partial download(s) untouched for over ${options.config.models.stale_part_hours} h (${(total / 1024 ** 2).toFixed(1)} MiB): ${stale.map((part) => part.path).join(', ')}`,
    fix: 'delete them (doctor --fix does), or resume with `aiplugs models pull <plugin>`',
    autoFix: async () => {
      for (const part of stale) await rm(part.path, { force: true });
      return `deleted ${stale.length} stale .part file(s)`;
    },
  }];
}

async function checkProxyResidue(options: DoctorOptions, gatewayRunning: boolean): Promise<Finding[]> {
  const findings: Finding[] = [];
  const backend = options.proxyBackend !== undefined ? options.proxyBackend : (await detectProxyBackend(options.env ? { env: options.env } : {})).backend;
  const saved = await readSavedProxyState(options.dataDir).catch(() => null);
  const reset = backend
    ? async () => {
        const outcome = await resetSystemProxy({ dataDir: options.dataDir, backend });
        return `system proxy: ${outcome}`;
      }
    : undefined;
  if (saved && !isProcessAlive(saved.gatewayPid)) {
    findings.push({
      check: 'proxy-residue',
      level: 'error',
      message: `The OS proxy still points at ${saved.target.host}:${saved.target.port}, set for gateway pid ${saved.gatewayPid}, which is gone: browsers using system settings cannot connect`,
      fix: '`aiplugs proxy reset` (doctor --fix does; the next `aiplugs start` would too)',
      ...(reset ? { autoFix: reset } : {}),
    });
  } else if (!saved && backend) {
    const current = await backend.currentLoopbackProxy().catch(() => null);
    if (current && (await nothingListens(current.port))) {
      findings.push({
        check: 'proxy-residue',
        level: 'error',
        message: `The OS proxy points at ${current.host}:${current.port}, where nothing listens (left behind by a crash or an older version): browsers using system settings cannot connect`,
        fix: '`aiplugs proxy reset` turns it off (doctor --fix does)',
        ...(reset ? { autoFix: reset } : {}),
      });
    }
  }
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
    const value = options.env?.[name];
    if (!value) continue;
    try {
      const url = new URL(value);
      if (/^(127\.|localhost$)/.test(url.hostname) && (await nothingListens(Number(url.port || 80)))) {
        findings.push({ check: 'proxy-residue', level: 'warn', message: `${name}=${value} points at a loopback port where nothing listens`, fix: `unset ${name} in your shell profile` });
      }
    } catch {
      // not a URL: not ours to judge
    }
  }
  if (findings.length === 0) findings.push({ check: 'proxy-residue', level: 'ok', message: saved ? `System proxy mode is on for the running gateway${gatewayRunning ? '' : ''}` : 'No proxy settings left behind' });
  return findings;
}

const pluginsDirOf = (options: DoctorOptions) => options.config.plugins_dir ?? fileURLToPath(new URL('plugins', PACKAGE_ROOT));

async function checkPlugins(options: DoctorOptions): Promise<Finding[]> {
  const dir = pluginsDirOf(options);
  const records = await loadPlugins(dir).catch((error: Error) => error);
  if (records instanceof Error) return [{ check: 'plugins', level: 'error', message: `Cannot read the plugins folder ${dir}: ${records.message}`, fix: 'create it or point --plugins-dir / AIPLUGS_PLUGINS_DIR at the right one' }];
  const broken = records.filter((record) => record.status === 'error');
  if (broken.length === 0) return [{ check: 'plugins', level: 'ok', message: `${records.length} plugin(s) valid in ${dir}` }];
  return [{ check: 'plugins', level: 'warn', message: `${broken.length} plugin(s) disabled by manifest problems: ${broken.map((record) => record.id).join(', ')}`, fix: `\`aiplugs plugins validate ${dir}\` lists every problem with its JSON path` }];
}

async function checkTools(options: DoctorOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (builtExtensionDir()) findings.push({ check: 'extension', level: 'ok', message: 'Extension built (extension/.output/chrome-mv3): `aiplugs browser` loads it' });
  else findings.push({ check: 'extension', level: 'optional', message: 'Extension not built: `aiplugs browser` runs without it (injection still works through the proxy)', fix: '`npm run build:extension`' });
  if (process.platform === 'linux' && !(await findOnPath(['certutil'], options.env ?? process.env))) {
    findings.push({ check: 'ca', level: 'optional', message: 'certutil is missing: `aiplugs ca install` cannot reach NSS (Chromium, Firefox)', fix: '`apt-get install libnss3-tools` (Debian/Ubuntu) or `dnf install nss-tools` (Fedora)' });
  }
  return findings;
}

/** Runs every check; never throws (a check that breaks becomes an error finding). */
export async function runDoctor(options: DoctorOptions): Promise<Finding[]> {
  const guard = async (check: string, run: () => Promise<Finding[]>): Promise<Finding[]> => {
    try {
      return await run();
    } catch (error) {
      return [{ check, level: 'error', message: `The check itself failed: ${(error as Error).message}` }];
    }
  };
  const gateway = await checkGateway(options).catch((error: Error) => ({ running: false, findings: [{ check: 'gateway', level: 'error' as const, message: error.message }] }));
  const groups = await Promise.all([
    gateway.running ? Promise.resolve([]) : guard('ports', () => checkPorts(options)),
    guard('ca', () => checkCa(options)),
    guard('browser', () => checkBrowser(options)),
    guard('python', () => checkPython(options)),
    guard('disk', () => checkDisk(options)),
    guard('stale-parts', () => checkStaleParts(options)),
    guard('proxy-residue', () => checkProxyResidue(options, gateway.running)),
    guard('plugins', () => checkPlugins(options)),
    guard('extension', () => checkTools(options)),
  ]);
  return [...gateway.findings, ...groups.flat()];
}
