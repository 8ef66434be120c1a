import type { InjectionPlan } from '../common/gateway-answers';

/**
 * The last injection plan fetched for each document, so the page runtime's requests to run a
 * plugin file (one per file, right after a sync) are answered without asking the gateway again.
 * Memory only, and small: a worker restart or a miss just means one more `GET /api/inject`.
 */

const MAX_DOCUMENTS = 50;
const plans = new Map<string, InjectionPlan>();

export function rememberPlan(documentId: string, plan: InjectionPlan): void {
  plans.delete(documentId); // re-inserted last: the oldest entry is the first to go
  plans.set(documentId, plan);
  for (const oldest of plans.keys()) {
    if (plans.size <= MAX_DOCUMENTS) break;
    plans.delete(oldest);
  }
}

/** The plan remembered for the document, if it was made for `url` (an SPA navigation makes a new one). */
export function rememberedPlan(documentId: string | undefined, url: string): InjectionPlan | null {
  const plan = documentId ? plans.get(documentId) : undefined;
  return plan && plan.url === url ? plan : null;
}
