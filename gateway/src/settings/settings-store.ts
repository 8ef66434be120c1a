import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import type { Logger } from '../events/logger.js';
import { GRANTABLE_SECRETS } from '../plugins/manifest-schema.js';

/** A value quoted in a message, cut short: the message must stay readable whatever was sent. */
const quoted = (value: unknown) => JSON.stringify(String(value).length > 60 ? `${String(value).slice(0, 60)}…` : String(value));

const SITE_PATTERN_HINT = 'write a host name like example.com or *.example.com, without http://, a path or a port';

const sitePattern = z
  .string()
  .trim()
  .min(1, `An empty site pattern matches nothing: ${SITE_PATTERN_HINT}`)
  .max(253, { error: (issue) => `${quoted(issue.input)} is longer than any host name (253 characters)` })
  .regex(/^(\*|(\*\.)?[a-z0-9.-]+)$/i, { error: (issue) => `${quoted(issue.input)} is not a site pattern: ${SITE_PATTERN_HINT}` });
const sitePatterns = z.array(sitePattern);

/** What the user changes at run time (dashboard, extension, CLI); persisted in `settings.json`. */
export const settingsSchema = z.strictObject({
  /** Global pause: nothing is injected anywhere. */
  paused: z.boolean(),
  /** Host patterns where no plugin is injected. */
  disabled_sites: sitePatterns,
  /** Per plugin: host patterns where that plugin is not injected. */
  plugin_disabled_sites: z.record(z.string(), sitePatterns),
  /** Per plugin: the user's choice of local or cloud inference, beating the manifest default. */
  plugin_modes: z.record(z.string(), z.enum(['local', 'cloud'])),
  /** Per plugin: which of the secrets its manifest asks for (`inference.env`) the user allows. */
  plugin_allowed_secrets: z.record(z.string(), z.array(z.enum(GRANTABLE_SECRETS))),
  /** Sites (origins) allowed to reach the cloud through Web AI, where an API is set to the cloud (docs/WEBAI.md). */
  webai_cloud_origins: z.array(z.string().max(300).refine((origin) => URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin), 'expected an origin like https://example.com')).max(1000),
});
export type Settings = z.infer<typeof settingsSchema>;

/** A change request: any subset of the settings, replaced wholesale per key. */
export const settingsPatchSchema = settingsSchema.partial();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export interface SettingsStore {
  get(): Settings;
  /** Validates, applies and persists a change atomically; returns the new settings. */
  update(patch: SettingsPatch): Promise<Settings>;
  onChange(listener: (settings: Settings) => void): () => void;
}

export interface SettingsStoreOptions {
  dataDir: string;
  /** The values used until the user changes them (from config.json). */
  defaults: Settings;
  logger: Logger;
}

/**
 * Loads `settings.json`, falling back to the defaults; a corrupt file is kept aside as
 * `settings.json.corrupt` (never silently lost) and reported. Writes go through a temp file and
 * a rename, so a crash mid-write leaves the old or the new settings, never half of each.
 */
export async function createSettingsStore(options: SettingsStoreOptions): Promise<SettingsStore> {
  const file = join(options.dataDir, 'settings.json');
  let current: Settings = options.defaults;
  try {
    const parsed = settingsSchema.partial().safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) current = { ...options.defaults, ...parsed.data };
    else throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rename(file, `${file}.corrupt`).catch(() => undefined);
      options.logger.warn(`Settings file ${file} was unreadable (${(error as Error).message}); kept it as settings.json.corrupt and started from defaults`);
    }
  }
  const listeners = new Set<(settings: Settings) => void>();
  let writing = Promise.resolve();
  return {
    get: () => current,
    async update(patch) {
      const next = settingsSchema.parse({ ...current, ...settingsPatchSchema.parse(patch) });
      current = next;
      // Serialize writes so a slow earlier write cannot land after a later one.
      writing = writing.then(() => writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o600));
      await writing;
      for (const listener of listeners) listener(next);
      return next;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
