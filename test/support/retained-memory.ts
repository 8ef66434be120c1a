import { once } from 'node:events';
import { WebSocket } from 'ws';
import { z } from 'zod';

/**
 * Memory a gateway process keeps, read after a full garbage collection through the V8 inspector.
 *
 * Why not RSS: it measures how far the heap grew at its busiest, which depends on how fast the
 * machine sends requests and when V8 chose to collect (3 to 59 MB for the same 10,000 requests on
 * two machines), while what the tests ask is whether anything stays. After a full collection,
 * what stays is all that is left.
 *
 * The process must run with `NODE_OPTIONS=--inspect-port=127.0.0.1:0` (see INSPECTABLE_ENV):
 * SIGUSR1 then opens its inspector on a free loopback port, which it prints to its stderr.
 */
export const INSPECTABLE_ENV = { NODE_OPTIONS: '--inspect-port=127.0.0.1:0' } as const;

const MemoryUsage = z.object({ heapUsed: z.number(), external: z.number() });
const Reply = z.object({ id: z.number(), result: z.unknown().optional(), error: z.object({ message: z.string() }).optional() });
const EvaluateResult = z.object({ result: z.object({ value: z.string() }) });

async function inspectorUrl(pid: number, log: () => string): Promise<string> {
  const listening = () => /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(log())?.[1];
  if (!listening()) process.kill(pid, 'SIGUSR1');
  for (let waited = 0; waited < 100; waited += 1) {
    const url = listening();
    if (url) return url;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`process ${pid} opened no inspector (was it started with ${INSPECTABLE_ENV.NODE_OPTIONS}?):\n${log().slice(-2000)}`);
}

/** The MB of heap and external memory (Buffers) process `pid` holds after a full collection. */
export async function retainedMemoryMb(pid: number, log: () => string): Promise<number> {
  const socket = new WebSocket(await inspectorUrl(pid, log));
  await once(socket, 'open');
  const pending = new Map<number, (reply: z.infer<typeof Reply>) => void>();
  socket.on('message', (data: Buffer) => {
    const reply = Reply.safeParse(JSON.parse(data.toString()));
    if (reply.success) pending.get(reply.data.id)?.(reply.data); // else an event, not an answer
  });
  const call = async (method: string, params: object = {}): Promise<unknown> => {
    const id = pending.size + 1;
    const reply = await new Promise<z.infer<typeof Reply>>((resolve) => {
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result;
  };
  try {
    await call('HeapProfiler.collectGarbage');
    const evaluated = EvaluateResult.parse(await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true }));
    const usage = MemoryUsage.parse(JSON.parse(evaluated.result.value));
    return (usage.heapUsed + usage.external) / (1024 * 1024);
  } finally {
    socket.close();
  }
}
