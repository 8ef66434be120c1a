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

const port = z.coerce.number().int().min(0).max(65535);
const optionalPort = z.preprocess((value) => (value === '' ? null : value), port.nullable());
const portRange = z
  .preprocess((value) => (typeof value === 'string' ? value.split(/[-,]/).map((part) => part.trim()) : value),
    z.tuple([port.min(1), port.min(1)]))
  .refine(([low, high]) => low <= high, 'the first port must not be above the second');

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

export const cspModeSchema = z.enum(['nonce', 'strip']);

export const configSchema = z.strictObject({
  plugins_dir: optionalText,
  models_dir: optionalText,
  log_level: z.enum(['debug', 'info', 'warn', 'error']),
  api: z.strictObject({
    port: optionalPort,
    port_range: portRange,
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
    paused: flag,
    /** Host match patterns (`example.com`, `*.example.com`) where nothing is injected. */
    disabled_sites: list,
    /** Leaf certificates kept in memory (least recently used first out). */
    leaf_cache_size: positiveInt,
    /** New leaf certificates minted per second, all clients together (fractions allowed). */
    leaf_mints_per_second: z.coerce.number().positive(),
    /** New leaf certificates that may be minted at once after a quiet period. */
    leaf_mint_burst: positiveInt,
    /** The most of one request body the proxy buffers (bridged calls, upload replay copies). */
    max_buffered_body_bytes: positiveInt,
  }),
  cloud: z.strictObject({
    base_url: z.preprocess((value) => (value === '' ? null : value), z.url({ protocol: /^https?$/ }).nullable()),
    api_key: optionalText,
    model: optionalText,
    timeout_ms: positiveInt,
    retries: nonNegativeInt,
    /** When the chosen side (local/cloud) cannot serve, whether the other one may. */
    fallback: z.enum(['none', 'local_to_cloud', 'cloud_to_local', 'both']),
  }),
  workers: z.strictObject({
    python: z.string().min(1),
    keep_alive_seconds: nonNegativeInt,
    request_timeout_seconds: positiveInt,
    concurrency: positiveInt,
    queue_size: nonNegativeInt,
    /** Per-worker memory cap in MB (0 = none): a runaway backend fails alone instead of the machine. */
    max_memory_mb: nonNegativeInt,
  }),
  models: z.strictObject({
    offline: flag,
    mirror: optionalText,
    stale_part_hours: positiveInt,
  }),
  ca: z.strictObject({
    lifetime_days: positiveInt.max(825),
    renew_before_days: positiveInt,
  }),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type CspMode = z.infer<typeof cspModeSchema>;
