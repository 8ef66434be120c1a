import type { z } from 'zod/mini';
import {
  ActivePluginsSchema,
  GatewayEventSchema,
  GatewaySettingsSchema,
  InferAnswerSchema,
  InjectionPlanSchema,
  PluginListSchema,
  WebAiStatusSchema,
  type GatewayErrorBody,
  type GatewayEvent,
  type GatewaySettings,
} from './gateway-answers';
import { GatewayHealthSchema, PairingRedeemAnswerSchema, TokenProofAnswerSchema, type GatewayHealth } from './unproven-answers';
// The gateway's own parser: one set of text/event-stream rules for both ends.
import { createSseParser } from '../../../gateway/src/inference/sse-parser';
import { PAGE_ORIGIN_HEADER } from '../../../gateway/src/api/page-origin';
import { signedAuthorization } from '../../../gateway/src/pairing/token-proof';

/** A failed gateway call, with the API's error code or `gateway_down` when nothing answered. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export interface GatewayClientOptions {
  /** API base URL, e.g. `http://127.0.0.1:5000`. */
  address: string;
  token: string | null;
  /** Per-request timeout; event streams have none. */
  timeoutMs?: number;
}

/** Normalizes what a user types (`5000`, `localhost:5000`, `http://127.0.0.1:5000/`) to a base URL. */
export function normalizeAddress(input: string): string | null {
  let text = input.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) text = `127.0.0.1:${text}`;
  if (!/^https?:\/\//i.test(text)) text = `http://${text}`;
  try {
    const url = new URL(text);
    // The gateway listens on 127.0.0.1 only; `localhost` may reach [::1] first, where any local program can listen.
    if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
    return `${url.protocol}//${url.host}`;
  } catch {
    return null;
  }
}

/** The most the extension reads of one answer: the gateway's plans and results fit, and no server fills the worker. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** Answers any local program may give, before a server has proved it is the gateway (health, the proof). */
const MAX_UNPROVEN_ANSWER_BYTES = 64 * 1024;

/** The answer's JSON, or null when it is not JSON; over `maxBytes` it is not read on (`answer_too_large`). */
async function readJson(response: Response, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new GatewayError('answer_too_large', `The server at ${new URL(response.url).host} sent an answer over ${maxBytes} bytes.`, response.status);
  if (Number(response.headers.get('content-length')) > maxBytes) {
    void response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read().catch(() => {
      throw new GatewayError('gateway_down', `The answer from ${new URL(response.url).host} broke off or took too long.`, response.status);
    });
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      void reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(await new Blob(chunks as BlobPart[]).text()) as unknown;
  } catch {
    return null;
  }
}

/**
 * The gateway API as the extension uses it: every call is signed with the token, every failure becomes
 * a `GatewayError` that says in words what went wrong.
 *
 * @example
 *   const gateway = createGatewayClient({ address: 'http://127.0.0.1:5000', token });
 *   const plan = await gateway.inject('https://example.com/');
 */
export function createGatewayClient(options: GatewayClientOptions) {
  const timeoutMs = options.timeoutMs ?? 10_000;
  type CallInit = RequestInit & { timeout?: number | null; maxBytes?: number };
  const call = async <T>(path: string, init: CallInit = {}): Promise<T> => {
    const headers = new Headers(init.headers);
    const url = new URL(`${options.address}${path}`);
    if (options.token) {
      // Signed, never sent: a server that took the gateway's port hears nothing it can use.
      const signed = { apiPort: Number(url.port) || 80, method: (init.method ?? 'GET').toUpperCase(), target: url.pathname + url.search };
      headers.set('authorization', await signedAuthorization(options.token, signed));
    }
    if (init.body) headers.set('content-type', 'application/json');
    const signals = [init.signal, init.timeout === null ? null : AbortSignal.timeout(init.timeout ?? timeoutMs)].filter((s): s is AbortSignal => !!s);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers, signal: AbortSignal.any(signals), cache: 'no-store', credentials: 'omit' });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new GatewayError('gateway_down', `The AiPlugs gateway is not reachable at ${options.address}. Start it with "npx aiplugs start".`);
    }
    if (init.timeout === null && response.ok) return response as T;
    const body = (await readJson(response, init.maxBytes ?? MAX_ANSWER_BYTES)) as (T & Partial<GatewayErrorBody>) | null;
    if (!response.ok) {
      const error = body?.error;
      throw new GatewayError(error?.code ?? `http_${response.status}`, error?.message ?? `The gateway answered HTTP ${response.status}`, response.status);
    }
    return body as T;
  };
  /** A call whose answer is taken only in `schema`'s shape; `mismatch` is the error for any other. */
  const shapedCall = async <S extends z.ZodMiniType>(schema: S, path: string, init: CallInit, mismatch: () => GatewayError): Promise<z.infer<S>> => {
    const answer = schema.safeParse(await call<unknown>(path, init));
    if (!answer.success) throw mismatch();
    return answer.data;
  };
  const host = new URL(options.address).host;
  /** A call whose answer any local program may give (see unproven-answers.ts): read to a small bound, in the shape the gateway gives it. */
  const unprovenCall = <S extends z.ZodMiniType>(schema: S, path: string, init: CallInit = {}) =>
    shapedCall(schema, path, { ...init, maxBytes: MAX_UNPROVEN_ANSWER_BYTES }, () => new GatewayError('not_aiplugs', `The server at ${host} did not answer as an AiPlugs gateway.`));
  /** A call to the gateway (it signs with the token), in the shape this extension knows (gateway-answers.ts). */
  const checkedCall = <S extends z.ZodMiniType>(schema: S, path: string, init: CallInit = {}) =>
    shapedCall(schema, path, init, () => {
      const route = `${(init.method ?? 'GET').toUpperCase()} ${path.split('?')[0]}`;
      return new GatewayError('unexpected_answer', `The AiPlugs gateway at ${host} answered ${route} in a shape this extension does not know: are the gateway and the extension the same version?`);
    });
  return {
    address: options.address,
    health: (timeout?: number) => unprovenCall(GatewayHealthSchema, '/api/health', { timeout: timeout ?? timeoutMs }),
    settings: () => checkedCall(GatewaySettingsSchema, '/api/settings'),
    updateSettings: (patch: Partial<GatewaySettings>) => checkedCall(GatewaySettingsSchema, '/api/settings', { method: 'PATCH', body: JSON.stringify(patch) }),
    webAiStatus: () => checkedCall(WebAiStatusSchema, '/api/webai/status'),
    active: (url: string) => checkedCall(ActivePluginsSchema, `/api/settings/active?url=${encodeURIComponent(url)}`),
    plugins: () => checkedCall(PluginListSchema, '/api/plugins').then((answer) => answer.plugins),
    inject: (url: string) => checkedCall(InjectionPlanSchema, `/api/inject?url=${encodeURIComponent(url)}`),
    /** A call for a page (`pageOrigin`, from the browser): the gateway applies that page's rules and tells errors as to a page. */
    infer: (pluginId: string, body: unknown, pageOrigin: string) =>
      checkedCall(InferAnswerSchema, `/api/plugins/${encodeURIComponent(pluginId)}/infer`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { [PAGE_ORIGIN_HEADER]: pageOrigin },
        timeout: 10 * 60_000,
      }).then((answer) => answer.result),
    /** Trades a one-time pairing code for the token; the gateway honours it only from this extension's Origin. */
    redeemPairing: (code: string) => unprovenCall(PairingRedeemAnswerSchema, '/api/pairing/redeem', { method: 'POST', body: JSON.stringify({ code }) }),
    /** The gateway's proof that it holds the token, for `nonce` (gateway/src/pairing/token-proof.ts); needs no token. */
    tokenProof: (nonce: string) => unprovenCall(TokenProofAnswerSchema, '/api/pairing/proof', { method: 'POST', body: JSON.stringify({ nonce }) }).then((answer) => answer.proof),
    modelStatus: (pluginId: string, pageOrigin: string) => call<unknown>(`/api/plugins/${encodeURIComponent(pluginId)}/models/status`, { headers: { [PAGE_ORIGIN_HEADER]: pageOrigin } }),
    /** Follows `GET /api/events` until `signal` aborts; EventSource cannot send the token, fetch can. */
    async events(signal: AbortSignal, onEvent: (event: GatewayEvent) => void): Promise<void> {
      const response = await call<Response>('/api/events', { signal, timeout: null });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const parser = createSseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const { data } of parser.push(value)) {
          try {
            const event = GatewayEventSchema.safeParse(JSON.parse(data));
            if (event.success) onEvent(event.data);
          } catch {
            // a malformed event is skipped, the stream goes on
          }
        }
      }
    },
  };
}

export type GatewayClient = ReturnType<typeof createGatewayClient>;

/** The API port range of the public contract, probed when the address is not known. */
export const API_PORT_RANGE: [number, number] = [5000, 5100];

/** `http://127.0.0.1:<port>` for every port of a range. */
export function rangeAddresses([first, last]: [number, number] = API_PORT_RANGE): string[] {
  return Array.from({ length: last - first + 1 }, (_, i) => `http://127.0.0.1:${first + i}`);
}

/** Health of an AiPlugs gateway at `address`, or null when nothing (or something else) answers. */
export async function gatewayHealthAt(address: string, timeoutMs = 1500): Promise<GatewayHealth | null> {
  try {
    return await createGatewayClient({ address, token: null }).health(timeoutMs);
  } catch {
    return null;
  }
}

/**
 * Finds running gateways on this machine: probes `/api/health` at each address (remembered ones
 * first, then the contract's API port range), a batch at a time, and returns the first that
 * `accept` takes, with every AiPlugs gateway seen on the way.
 */
export async function discoverGateway(
  addresses: string[] = rangeAddresses(),
  accept: (address: string, health: GatewayHealth) => Promise<boolean> = async () => true,
  batch = 20,
): Promise<{ address: string | null; probed: number; seen: Array<{ address: string; health: GatewayHealth }> }> {
  const unique = [...new Set(addresses)];
  const seen: Array<{ address: string; health: GatewayHealth }> = [];
  let probed = 0;
  for (let start = 0; start < unique.length; start += batch) {
    const slice = unique.slice(start, start + batch);
    probed += slice.length;
    const answered = (await Promise.all(slice.map(async (address) => ({ address, health: await gatewayHealthAt(address) })))).filter(
      (entry): entry is { address: string; health: GatewayHealth } => entry.health !== null,
    );
    seen.push(...answered);
    for (const entry of answered) if (await accept(entry.address, entry.health)) return { address: entry.address, probed, seen };
  }
  return { address: null, probed, seen };
}
