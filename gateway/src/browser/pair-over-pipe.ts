import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LAUNCHER_PAIRING_FUNCTION } from '../dashboard/page/pairing-messages.js';
import type { DevtoolsPipe } from './devtools-pipe.js';

const TargetsAnswer = z.object({ targetInfos: z.array(z.object({ targetId: z.string(), type: z.string(), url: z.string() })) });
const AttachAnswer = z.object({ sessionId: z.string() });
/** `Runtime.evaluate` with `returnByValue`: the value, or why it threw. */
const EvaluateAnswer = z.object({
  result: z.object({ value: z.unknown().optional() }),
  exceptionDetails: z.object({ text: z.string().optional(), exception: z.object({ description: z.string().optional() }).optional() }).optional(),
});
const Outcome = z.object({ state: z.string(), message: z.string() });

/** A loaded extension's worker starts within a second or two; a busy machine may take longer. */
const WORKER_WAIT_MS = 20_000;

async function extensionWorker(pipe: DevtoolsPipe, extensionId: string, deadline: number): Promise<string> {
  for (;;) {
    const { targetInfos } = TargetsAnswer.parse(await pipe.call('Target.getTargets'));
    const worker = targetInfos.find((target) => target.type === 'service_worker' && target.url.startsWith(`chrome-extension://${extensionId}/`));
    if (worker) return worker.targetId;
    if (Date.now() > deadline) throw new Error(`the extension ${extensionId} started no service worker within ${WORKER_WAIT_MS / 1000} s`);
    await sleep(200);
  }
}

/**
 * Pairs the extension `aiplugs browser` loaded with the gateway at `apiUrl`: hands a one-time
 * code to its service worker over the DevTools pipe (the worker redeems it, so the gateway still
 * gives the token only to this extension's Origin). Nothing but the process that started the
 * browser holds the pipe, so no question is asked, unlike a page's offer, which any local
 * server can make. Throws, in words, when the extension did not pair.
 */
export async function pairOverPipe(pipe: DevtoolsPipe, extensionId: string, apiUrl: string, code: string): Promise<void> {
  const deadline = Date.now() + WORKER_WAIT_MS;
  const targetId = await extensionWorker(pipe, extensionId, deadline);
  const { sessionId } = AttachAnswer.parse(await pipe.call('Target.attachToTarget', { targetId, flatten: true }));
  try {
    const evaluate = async (expression: string) => EvaluateAnswer.parse(await pipe.call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, 30_000, sessionId));
    // The worker's script may still be running its first lines.
    while ((await evaluate(`typeof globalThis.${LAUNCHER_PAIRING_FUNCTION}`)).result.value !== 'function') {
      if (Date.now() > deadline) throw new Error('the extension does not take pairings from aiplugs browser (an older build?)');
      await sleep(200);
    }
    const answer = await evaluate(`globalThis.${LAUNCHER_PAIRING_FUNCTION}(${JSON.stringify(apiUrl)}, ${JSON.stringify(code)})`);
    if (answer.exceptionDetails) throw new Error(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text ?? 'the extension failed to pair');
    const outcome = Outcome.parse(answer.result.value);
    if (outcome.state !== 'paired') throw new Error(outcome.message);
  } finally {
    await pipe.call('Target.detachFromTarget', { sessionId }).catch(() => undefined);
  }
}
