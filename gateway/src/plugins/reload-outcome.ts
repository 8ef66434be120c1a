import type { PluginRecord } from './plugin-registry.js';

/** One log line about one plugin after a (re)load. */
export interface ReloadOutcome {
  level: 'info' | 'warn';
  message: string;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).join('\n') === (b ?? []).join('\n');

function describeOne(before: PluginRecord | undefined, after: PluginRecord): ReloadOutcome | null {
  const name = `Plugin "${after.id}"`;
  if (after.status === 'error') {
    if (before?.status === 'error' && sameList(before.errors, after.errors)) return null;
    return { level: 'warn', message: `${name} is disabled: ${after.errors.join('; ')}` };
  }
  if (after.pendingErrors) {
    if (before?.status === 'enabled' && sameList(before.pendingErrors, after.pendingErrors)) return null;
    return { level: 'warn', message: `${name} edit is broken (${after.pendingErrors.join('; ')}); keeping the last good version running` };
  }
  const version = `version ${after.manifest.version}`;
  if (!before) return { level: 'info', message: `${name} added (${version})` };
  if (before.status === 'error') return { level: 'info', message: `${name} enabled again (${version}): its problems are fixed` };
  if (before.revision !== after.revision || before.pendingErrors) return { level: 'info', message: `${name} reloaded (${version})` };
  return null;
}

/**
 * What a reload changed, one line per plugin that changed and nothing for the others: added,
 * reloaded, enabled again, a broken edit (the last good version keeps running), disabled, removed.
 * Plugins are told apart by folder, so a duplicate id is one line, not two.
 *
 * @example
 *   describeReload(registryBefore, await registry.reload()).forEach(({ level, message }) => logger[level](message));
 */
export function describeReload(before: readonly PluginRecord[], after: readonly PluginRecord[]): ReloadOutcome[] {
  const previous = new Map(before.map((record) => [record.dir, record]));
  const outcomes = after.flatMap((record) => {
    const outcome = describeOne(previous.get(record.dir), record);
    previous.delete(record.dir);
    return outcome ? [outcome] : [];
  });
  for (const gone of previous.values()) outcomes.push({ level: 'info', message: `Plugin "${gone.id}" removed` });
  return outcomes;
}
