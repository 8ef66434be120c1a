import browser from 'webextension-polyfill';
import { z } from 'zod/mini';
import { StorageKey } from '../common/protocol';
import { pluginFreeRules } from './plugin-free-rules';
import { serialQueue } from './serial-queue';

/**
 * The tabs whose next load the user asked to have without plugins ("Reload without plugins"), in
 * session storage so a background worker woken later still knows, each with the session rules it
 * holds (plugin-free-rules.ts) and the document that was showing when the user asked (`since`,
 * where the browser names documents): a late report of that document's own load is not the
 * plugin-free one, which is still to come.
 */
const suppressedLoadsSchema = z.array(z.object({ tabId: z.number(), since: z.optional(z.string()), ruleIds: z.tuple([z.number(), z.number()]) }));
type SuppressedLoad = z.infer<typeof suppressedLoadsSchema>[number];

async function read(): Promise<SuppressedLoad[]> {
  const { [StorageKey.suppressedTabs]: stored } = await browser.storage.session.get(StorageKey.suppressedTabs);
  const parsed = suppressedLoadsSchema.safeParse(stored ?? []);
  return parsed.success ? parsed.data : [];
}

const write = (loads: SuppressedLoad[]) => browser.storage.session.set({ [StorageKey.suppressedTabs]: loads });

/** One change at a time: two tabs asking at once must not be given the same rule ids. */
const serially = serialQueue();

/** The two smallest session rule ids no rule holds. */
async function freeRuleIds(): Promise<[number, number]> {
  const used = new Set((await browser.declarativeNetRequest.getSessionRules()).map((rule) => rule.id));
  const ids: number[] = [];
  for (let id = 1; ids.length < 2; id += 1) if (!used.has(id)) ids.push(id);
  return [ids[0]!, ids[1]!];
}

/** The tab's entry, if any, apart from the others'. */
async function splitOff(tabId: number): Promise<{ ended: SuppressedLoad[]; others: SuppressedLoad[] }> {
  const loads = await read();
  return { ended: loads.filter((load) => load.tabId === tabId), others: loads.filter((load) => load.tabId !== tabId) };
}

const ruleIdsOf = (loads: SuppressedLoad[]) => loads.flatMap((load) => load.ruleIds);

/** Puts the tab's rules in place for its next load and remembers it (replacing one not yet over, in the same rule update). */
export function startSuppressedLoad(tabId: number, since: string | undefined, proxyInPath: boolean): Promise<void> {
  return serially(async () => {
    const { ended, others } = await splitOff(tabId);
    const ruleIds = await freeRuleIds();
    await browser.declarativeNetRequest.updateSessionRules({ removeRuleIds: ruleIdsOf(ended), addRules: pluginFreeRules(tabId, proxyInPath, ruleIds) });
    await write([...others, { tabId, ruleIds, ...(since === undefined ? {} : { since }) }]);
  });
}

/** Whether a load of `tabId` (its document `documentId`, where known) is the one to have without plugins. */
export async function isSuppressedLoad(tabId: number, documentId: string | undefined): Promise<boolean> {
  const load = (await read()).find((entry) => entry.tabId === tabId);
  return load !== undefined && (load.since === undefined || load.since !== documentId);
}

/** Lifts the tab's rules: its plugin-free load is over (or the tab is gone). */
export function endSuppressedLoad(tabId: number): Promise<void> {
  return serially(async () => {
    const { ended, others } = await splitOff(tabId);
    if (ended.length === 0) return;
    await browser.declarativeNetRequest.updateSessionRules({ removeRuleIds: ruleIdsOf(ended) });
    await write(others);
  });
}
