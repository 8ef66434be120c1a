import { resolve } from 'node:path';
import { z } from 'zod';

/** Accepts the spellings people type into environment variables for a yes/no switch. */
const flag = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(text)) return false;
  return value;
}, z.boolean());

/** A list given either as JSON/array or as a comma-separated string (the form env vars use). */
const list = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}, z.array(z.string().min(1)));

/** Empty strings mean "unset" so that `FOO=` in a shell clears a setting. */
const optionalText = z.preprocess((value) => (value === '' ? null : value), z.string().min(1).nullable());

/**
 * A number from JSON, or from an environment variable written in plain decimal. z.coerce took
 * whatever Number() takes: "0x1610" was port 5648, "1e3" was 1000, and "" (a variable set to
 * nothing) was 0. Any other text stays text, and fails as "expected number".
 */
const decimal = <T extends z.ZodNumber>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : value), schema);

const portNumber = z.number().int().min(0).max(65535);
const port = decimal(portNumber);
const optionalPort = z.preprocess((value) => (value === '' ? null : value), port.nullable());
const portRange = z
  .preprocess((value) => (typeof value === 'string' ? value.split(/[-,]/).map((part) => part.trim()) : value),
    z.tuple([decimal(portNumber.min(1)), decimal(portNumber.min(1))]))
  .refine(([low, high]) => low <= high, 'the first port must not be above the second');

const positiveNumber = z.number().int().positive();
const positiveInt = decimal(positiveNumber);
/** Node's timers wait at most 2^31-1 ms; past that one fires after 1 ms (every cloud call timed out at once). */
const MAX_TIMER_MS = 2_147_483_647;
const timerMs = decimal(positiveNumber.max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (24.8 days), the longest a timer waits`));
const timerSeconds = (min: 0 | 1) => decimal(z.number().int().min(min).max(Math.floor(MAX_TIMER_MS / 1000), `at most ${Math.floor(MAX_TIMER_MS / 1000)} s (24.8 days), the longest a timer waits`));

/**
 * A secret that may be unset (empty = unset, as above) but not blank: a key of spaces would be
 * sent as a bare `Authorization: Bearer`, which servers answer with a puzzling 401 at the first call.
 */
const optionalSecret = optionalText.refine((value) => value === null || value.trim() !== '', {
  message: 'only whitespace, which would be sent as a bare "Authorization: Bearer"; give the key, or an empty value for no key',
});
const nonNegativeInt = decimal(z.number().int().min(0));

export const cspModeSchema = z.enum(['nonce', 'strip']);

/**
 * A folder, made absolute against the working directory: the gateway hands these paths to
 * backends, whose working directory is their plugin's folder, and to tools that read them.
 */
const optionalDir = optionalText.transform((dir) => (dir === null ? null : resolve(dir)));

export const configSchema = z.strictObject({
  plugins_dir: optionalDir,
  models_dir: optionalDir,
  log_level: z.enum(['debug', 'info', 'warn', 'error']),
  api: z.strictObject({
    port: optionalPort,
    port_range: portRange,
    /** Largest request body a route takes, unless it needs more (below); refused on the head when declared. */
    max_body_bytes: positiveInt,
    /** Largest body of a plugin call (payloads may carry an image). */
    max_infer_body_bytes: positiveInt,
    /** Body bytes all requests together may hold at once; beyond it callers get 503. */
    max_buffered_body_bytes: positiveInt,
    /** Bridged calls one site may have in flight at once; beyond it that site gets 429. */
    max_page_requests_in_flight: positiveInt,
  }),
  proxy: z.strictObject({
    port: optionalPort,
    port_range: portRange,
    csp_mode: cspModeSchema,
    /** How much of a document is held back to find its head; the rest of the body always streams. */
    max_head_bytes: positiveInt,
    /** Hosts whose self-signed upstream certificates are accepted: for local test sites only. */
    trusted_test_hosts: list,
    /** PEM files of extra CAs trusted for upstream servers (a company CA); Node's store stays in use. */
    upstream_ca_files: list,
    /** Host patterns of pages that may reach this machine and the local network through the proxy (Local Network Access). */
    local_network_sites: list,
    paused: flag,
    /** Host match patterns (`example.com`, `*.example.com`) where nothing is injected. */
    disabled_sites: list,
    /** Leaf certificates kept in memory (least recently used first out). */
    leaf_cache_size: positiveInt,
    /** New leaf certificates minted per second, all clients together (fractions allowed). */
    leaf_mints_per_second: decimal(z.number().positive()),
    /** New leaf certificates that may be minted at once after a quiet period. */
    leaf_mint_burst: positiveInt,
    /** How much of an upload mockttp keeps as its replay copy; the upload itself always streams through. */
    upload_replay_bytes: positiveInt,
    /** Largest WebSocket message relayed between a page and its site, either way; a larger one closes the socket. */
    max_websocket_message_bytes: positiveInt,
    /** What relayed WebSockets may hold in messages together (sites' sockets; plugin sockets a budget of their own): shared by those holding over 64 KiB. */
    max_websocket_total_bytes: positiveInt,
  }),
  cloud: z.strictObject({
    base_url: z.preprocess((value) => (value === '' ? null : value), z.url({ protocol: /^https?$/ }).nullable()),
    api_key: optionalSecret,
    model: optionalText,
    /** Per attempt until the answer starts, then the longest silence while it is read. */
    timeout_ms: timerMs,
    /**
     * The longest a whole cloud call may take (retries and reading the answer included), however
     * steadily the server sends. The default here also keeps a defaults file without the key loading.
     */
    total_timeout_ms: timerMs.default(600_000),
    retries: nonNegativeInt,
    /** When the chosen side (local/cloud) cannot serve, whether the other one may. */
    fallback: z.enum(['none', 'local_to_cloud', 'cloud_to_local', 'both']),
    /** Cloud calls a plugin's pages may start per minute (a manifest may ask for fewer). */
    page_requests_per_minute: positiveInt,
    /** Longest answer (max_tokens) a page-started cloud call may ask for. */
    page_max_tokens: positiveInt,
    /** Largest request a page-started cloud call may send (its prompt, mostly), in bytes of JSON. */
    page_max_input_bytes: positiveInt,
    /** The most bytes read from one cloud answer, streamed or not. */
    max_response_bytes: positiveInt,
    /** The longest line, and the largest event, of a streamed cloud answer, in characters. */
    max_event_chars: positiveInt,
    /** The most characters of a streamed cloud answer kept (its text, or its chunks). */
    max_answer_chars: positiveInt,
  }),
  workers: z.strictObject({
    python: z.string().min(1),
    keep_alive_seconds: timerSeconds(0),
    request_timeout_seconds: timerSeconds(1),
    concurrency: positiveInt,
    queue_size: nonNegativeInt,
    /** Per-worker cap on resident memory (the worker and its children) in MB, 0 = none: over it the worker is killed. */
    max_memory_mb: nonNegativeInt,
    /** CPU time one call may use (0 = no budget; wall time is capped by request_timeout_seconds). */
    request_cpu_seconds: timerSeconds(0),
    /** Environment variables passed to workers beyond the built-in allowlist (never a gateway secret). */
    env_passthrough: list,
  }),
  models: z.strictObject({
    offline: flag,
    mirror: optionalText,
    stale_part_hours: positiveInt,
    /** The most bytes taken from a source for a model that declares no `size` (a declared size is the bound otherwise). */
    max_download_bytes: positiveInt,
    /** Free space a model download must leave on the models disk; checked before and while it runs. */
    min_free_bytes: nonNegativeInt,
    /** A download averaging fewer bytes per second than this over `low_speed_seconds` fails (the part kept, to resume); 0 = no limit. */
    low_speed_bytes_per_second: nonNegativeInt,
    low_speed_seconds: timerSeconds(1),
  }),
  ca: z.strictObject({
    lifetime_days: decimal(positiveNumber.max(825)),
    renew_before_days: positiveInt,
  }),
  /** The log file `<data dir>/logs/gateway.log` (the same lines as stderr, secrets redacted). */
  logs: z.strictObject({
    /** Size at which gateway.log is rotated to gateway.log.1. */
    max_file_bytes: decimal(z.number().int().min(4096)),
    /** Rotated files kept (gateway.log.1 … .N); the oldest goes first. */
    max_files: positiveInt,
    /** Activity events (documents the proxy decided about, inference calls) kept in memory for the dashboard; the oldest goes first. */
    activity_events: positiveInt,
  }),
  /** The browser's built-in AI APIs served by AiPlugs (docs/WEBAI.md). */
  webai: z.strictObject({
    enabled: flag,
    /** The local LLM's GGUF: an http(s) or file: URL, provisioned into models/ on first use. */
    model_url: z.string().regex(/^(https?:\/\/|file:)/, 'expected an http:, https: or file: URL'),
    /** Its SHA-256, or "pending": the first complete download is pinned in models/.aiplugs/models.lock.json. */
    model_sha256: z.string().regex(/^(pending|[0-9a-fA-F]{64})$/, 'expected 64 hexadecimal digits or "pending"').transform((hash) => (hash === 'pending' ? hash : hash.toLowerCase())),
    /** A GGUF file used in place, instead of model_url (no download, no hash). */
    model_path: optionalText,
    /** Context window of the local model, in tokens (capped at what the model was trained for). */
    context_size: positiveInt,
    /** Longest answer in tokens; also the room kept free of the input quota. */
    max_output_tokens: positiveInt,
    /** CPU threads for the local model; 0 = all cores but one. */
    threads: nonNegativeInt,
    /** Languages (primary subtags) the local model reads and writes: what availability() admits. */
    languages: list,
    /** Characters of input (with history and context) one call may send; more is QuotaExceededError. */
    max_input_chars: positiveInt,
    /** Web AI calls one site may start per minute. */
    page_requests_per_minute: positiveInt,
    /** Generations one site may run at once. */
    page_max_concurrent: positiveInt,
    /** APIs served by the cloud relay (cloud.base_url) instead of the local model; pages only on sites in settings.webai_cloud_origins. */
    cloud_apis: list.pipe(z.array(z.enum(['language-model', 'summarizer', 'writer', 'rewriter', 'proofreader', 'translator']))),
    /** Pages may start a model download by create() (with a user gesture); off: only the user (dashboard, CLI) starts it. */
    page_downloads: flag,
    /** Pages get AiPlugs' built-in AI even where the browser's own is available. */
    replace_native: flag,
  }),
}).superRefine((config, ctx) => {
  // Else the second listener fails as if another program held the port.
  if (config.api.port && config.api.port === config.proxy.port) {
    ctx.addIssue({ code: 'custom', path: ['proxy', 'port'], message: `the same as api.port; the API and the proxy need a port each` });
  }
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type CspMode = z.infer<typeof cspModeSchema>;
