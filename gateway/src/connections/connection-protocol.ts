import { z } from 'zod';
import { MAX_JSON_DEPTH, parseBoundedJson } from '../api/bounded-json.js';

/**
 * Messages between a page (`AiPlugs.connect(pluginId)`) and the gateway over the plugin's
 * WebSocket, one JSON object per text frame.
 *
 * Page → gateway (validated here; anything else is answered with an `error` and ignored):
 * - `{type:"infer", id, payload?, mode?, stream?, fallback?}` — call the plugin; with `stream`
 *   (the default) partial results arrive as `chunk` messages before the `result`.
 * - `{type:"cancel", id}` — stop a call this connection started.
 * - `{type:"ping", t?}` — an application-level ping (page scripts cannot send protocol pings).
 *
 * Gateway → page:
 * - `{type:"hello", plugin_id, client_id, heartbeat_ms}` once, on connect;
 * - `{type:"chunk", id, data}` · `{type:"result", id, result, mode}` · `{type:"error", id?, error:{code,message}}`;
 * - `{type:"pong", t?}` · `{type:"push", data}` (a message the gateway sends on its own).
 */

/** A caller-chosen id that ties answers to calls: short strings or integers. */
export const messageIdSchema = z.union([z.string().min(1).max(64), z.number().int().safe()]);
export type MessageId = z.infer<typeof messageIdSchema>;

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('infer'),
    id: messageIdSchema,
    payload: z.unknown().optional(),
    mode: z.enum(['local', 'cloud']).optional(),
    stream: z.boolean().optional(),
    fallback: z.boolean().optional(),
  }),
  z.object({ type: z.literal('cancel'), id: messageIdSchema }),
  z.object({ type: z.literal('ping'), t: z.unknown().optional() }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ServerMessage =
  | { type: 'hello'; plugin_id: string; client_id: string; heartbeat_ms: number }
  | { type: 'chunk'; id: MessageId; data: unknown }
  | { type: 'result'; id: MessageId; result: unknown; mode: string | null }
  | { type: 'error'; id?: MessageId; error: { code: string; message: string } }
  | { type: 'pong'; t?: unknown }
  | { type: 'push'; data: unknown };

/** Largest frame a plugin socket takes; the proxy's bridge relay holds page sockets to it too, so it never assembles more. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Client ids come from the page (sessionStorage): printable, short, no separators that matter to us. */
export const clientIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1-128 letters, digits, "_", ".", ":" or "-"');

/**
 * Close codes the page runtime understands. 4000 means "a newer connection of this client took
 * over" and 4403 "this page may not talk to this plugin": the runtime does not reconnect after
 * either. 1001 (going away) and 1013 (try again later) are reconnected with backoff: 1013 closes
 * a peer that does not read, and refuses a socket over the page socket limits
 * (page-socket-quota.ts), which a retry may find free. 1011 (internal error) ends a socket whose
 * message the gateway failed on, and is reconnected like any other close.
 */
export const CLOSE = {
  replaced: 4000,
  forbidden: 4403,
  goingAway: 1001,
  tooSlow: 1013,
  tooMany: 1013,
  internalError: 1011,
} as const;

/** Parses one text frame from a page; returns the message or a description of what is wrong. */
export function decodeClientMessage(text: string): { ok: true; message: ClientMessage } | { ok: false; problem: string } {
  const json = parseBoundedJson(text);
  if (!json.ok) return { ok: false, problem: json.problem === 'too_deep' ? `messages may nest at most ${MAX_JSON_DEPTH} levels` : 'messages must be JSON objects' };
  const parsed = clientMessageSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, problem: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`).join('; ') };
  return { ok: true, message: parsed.data };
}
