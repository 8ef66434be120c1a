/**
 * Parses a `Retry-After` header (delay-seconds or an HTTP date) into milliseconds from `now`;
 * undefined when absent or unreadable. Shared by the model downloads and the cloud relay.
 *
 * @example
 *   parseRetryAfter('3'); // 3000
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
