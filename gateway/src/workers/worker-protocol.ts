import { z } from 'zod';
import { createByteLines, firstBytes } from './byte-lines.js';

/**
 * The request channel between the gateway and a worker host (python-host.py, node-host.mjs):
 * one JSON object per line, requests on the child's fd 3, answers on its fd 4. stdout and stderr
 * stay free for whatever the backend prints, so a `print()` can never corrupt a reply.
 *
 * Every line a host sends is validated here: a host is a separate program (and may be an old or
 * foreign one), so nothing it says is trusted before it has been parsed.
 */

/** Request ids are small integers chosen by the gateway, unique per worker process. */
const requestId = z.number().int().nonnegative();

/** What the backend raised: its type and message, plus the traceback/stack for the log. */
export const backendFailureSchema = z.object({
  type: z.string().default('Error'),
  message: z.string(),
  traceback: z.string().optional(),
});
export type BackendFailure = z.infer<typeof backendFailureSchema>;

export const hostMessageSchema = z.discriminatedUnion('type', [
  /** The backend module imported and exposes `run`: requests may flow. */
  z.object({ type: z.literal('ready'), pid: z.number().int(), runtime: z.string(), version: z.string().optional() }),
  /** The backend could not be loaded (import error, no `run`); the host exits after sending this. */
  z.object({ type: z.literal('fatal'), error: backendFailureSchema }),
  /** `run` returned (or its generator finished); `result` is JSON. */
  z.object({ type: z.literal('result'), id: requestId, result: z.unknown() }),
  /** One partial result: a value yielded by a generator `run`. */
  z.object({ type: z.literal('chunk'), id: requestId, data: z.unknown() }),
  /** `run` raised; the worker stays up. */
  z.object({ type: z.literal('error'), id: requestId, error: backendFailureSchema }),
  /** The host stopped work on a request the gateway cancelled. */
  z.object({ type: z.literal('cancelled'), id: requestId }),
]);
export type HostMessage = z.infer<typeof hostMessageSchema>;

/** What the gateway sends. Hosts validate these themselves (they are written in other languages). */
export type GatewayMessage = { type: 'request'; id: number; payload: unknown } | { type: 'cancel'; id: number };

/** Encodes one gateway message as a line. JSON never contains a raw newline, so framing is safe. */
export function encodeGatewayMessage(message: GatewayMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/** Just enough of an invalid message to tell which request it was about. */
const namesRequestSchema = z.object({ id: requestId });

/**
 * Parses one line from a host. Returns the message, or a description of what was wrong so the
 * caller can log it with the plugin's name (a broken line is a host bug, never the backend's output).
 * A broken message that still names a request id returns it as `id`: that request will get no
 * valid answer, so the caller fails it now instead of letting it wait for its timeout.
 */
export function decodeHostMessage(line: string): { ok: true; message: HostMessage } | { ok: false; problem: string; id?: number } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = hostMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const problem = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`).join('; ');
  const named = namesRequestSchema.safeParse(json);
  return named.success ? { ok: false, problem, id: named.data.id } : { ok: false, problem };
}

/** How many bytes of an over-long answer are kept to tell which request it was about. */
const ANSWER_HEAD_BYTES = 256;

/**
 * Splits the answer channel into lines (byte-lines.ts), decoding each once, and refuses a line
 * longer than `maxLineBytes` (a runaway host must not grow the gateway's memory unboundedly). A
 * refused line is skipped up to its newline and the lines after it are read as usual: JSON never
 * contains a raw newline, so the framing survives and the worker need not be stopped. `onOverflow`
 * gets the first bytes of the refused line, to tell which request it answered.
 *
 * @example
 *   const split = createLineSplitter({ maxLineBytes: 1 << 20, onLine: console.log, onOverflow: (limit, head) => failRequest(answerHeadOf(head)) });
 *   stream.on('data', split.push);
 */
export function createLineSplitter(options: { maxLineBytes: number; onLine: (line: string) => void; onOverflow: (maxLineBytes: number, head: Buffer) => void }) {
  const lines = createByteLines({
    maxLineBytes: options.maxLineBytes,
    onLine: (bytes) => {
      const line = bytes.toString('utf8');
      options.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    },
    onOverlong: (start) => options.onOverflow(options.maxLineBytes, firstBytes(start, ANSWER_HEAD_BYTES)),
  });
  return { push: lines.push };
}

/**
 * Which request an answer is about, from its first bytes: both hosts write `type` and `id` first
 * (`{"type": "result", "id": 3, …`), so the id is known long before the value ends. Undefined for
 * a line that does not start that way.
 */
export function answerHeadOf(head: Buffer): { type: string; id: number } | undefined {
  const text = head.toString('latin1');
  const typeFirst = /^\s*\{\s*"type"\s*:\s*"(\w+)"\s*,\s*"id"\s*:\s*(\d+)\s*[,}]/.exec(text);
  if (typeFirst) return { type: typeFirst[1]!, id: Number(typeFirst[2]) };
  const idFirst = /^\s*\{\s*"id"\s*:\s*(\d+)\s*,\s*"type"\s*:\s*"(\w+)"/.exec(text);
  return idFirst ? { type: idFirst[2]!, id: Number(idFirst[1]) } : undefined;
}
