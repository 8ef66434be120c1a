import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The changes our mockttp patch makes (patches/mockttp+<version>.patch, one row each in
 * patches/README.md). Every changed file carries `AiPlugs patch (<id>)` next to the change.
 */
export const MOCKTTP_PATCH_HUNKS = [
  { id: 'listen-host', file: 'dist/server/mockttp-server.js', purpose: 'listen on 127.0.0.1 only' },
  { id: 'error-responder', file: 'dist/server/mockttp-server.js', purpose: "the gateway's error page for failed requests" },
  { id: 'headers-sent-failure', file: 'dist/server/mockttp-server.js', purpose: 'a response that fails mid-body is cut short, never completed with an error page' },
  { id: 'upstream-parsing', file: 'dist/rules/requests/request-step-impls.js', purpose: "sites' response heads are read as browsers read them (lenient, up to 256 KiB)" },
  { id: 'h2-upstream-headers', file: 'dist/rules/requests/request-step-impls.js', purpose: "an HTTP/2 site's response head may have as many fields as Chromium takes" },
  { id: 'h2-request-headers', file: 'dist/server/http-combo-server.js', purpose: 'an HTTP/2 request may have as many header fields (cookie crumbs) as a browser sends' },
  { id: 'h2-send-head-size', file: 'dist/server/http-combo-server.js', purpose: 'a response head of up to 1 MiB goes to an HTTP/2 client (many cookies), where past 64 KiB Node closed the connection' },
  { id: 'h2-upstream-send-size', file: 'dist/rules/requests/request-step-impls.js', purpose: 'a request head of up to 1 MiB goes to an HTTP/2 site (the cookies it set), where past 64 KiB it was a 502' },
  { id: 'request-head-size', file: 'dist/server/http-combo-server.js', purpose: 'request heads up to 64 KiB (big cookies)' },
  { id: 'complete-response-errors', file: 'dist/rules/requests/request-step-impls.js', purpose: 'bytes past a complete upstream response do not fail it' },
  { id: 'upstream-cut-flush', file: 'dist/rules/requests/request-step-impls.js', purpose: 'a transformed document its site broke off reaches the browser as far as it got before it is cut short' },
  { id: 'head-flush', file: 'dist/rules/requests/request-step-impls.js', purpose: "an HTTP/1 response's head goes out when the site sent it, not with the first body bytes" },
  { id: 'h2-single-values', file: 'dist/util/header-utils.js', purpose: 'a header a site sent twice does not stop an HTTP/2 client getting the response' },
  { id: 'h2-location-conflict', file: 'dist/util/header-utils.js', purpose: 'a redirect to two different places fails over HTTP/2 as a browser fails it, never joined into one target' },
  { id: 'websocket-pipe-errors', file: 'dist/rules/websockets/websocket-step-impls.js', purpose: 'a relayed socket whose peer went away prints no stack trace per queued message' },
  { id: 'request-listener', file: 'dist/server/mockttp-server.js', purpose: 'a malformed request target cannot crash the process' },
  { id: 'request-target', file: 'dist/util/request-utils.js', purpose: 'a malformed absolute-form target gets a 400' },
  { id: 'sni-callback', file: 'dist/server/http-combo-server.js', purpose: 'bounded, rate-limited leaf certificates' },
  { id: 'response-tee', file: 'dist/util/request-utils.js', purpose: 'responses passed through are not kept in memory' },
  { id: 'port-probe', file: 'dist/util/socket-util.js', purpose: 'no listener leak when proxying to localhost' },
  { id: 'transform-response-stream', file: 'dist/rules/requests/request-step-impls.js', purpose: 'documents are rewritten as they stream' },
  { id: 'upstream-idle', file: 'dist/rules/http-agents.js', purpose: 'an idle upstream socket is dropped before the server drops it' },
  { id: 'upstream-sockets', file: 'dist/rules/http-agents.js', purpose: 'at most 6 upstream sockets per site and downstream connection' },
  { id: 'websocket-limits', file: 'dist/rules/websockets/websocket-step-impls.js', purpose: 'relayed WebSockets have backpressure and a message limit both ways' },
  { id: 'websocket-message-limit', file: 'dist/rules/websockets/websocket-step-definitions.js', purpose: 'relayed WebSocket messages are limited per rule' },
  { id: 'websocket-total-limit', file: 'dist/rules/websockets/websocket-step-impls.js', purpose: "unfinished WebSocket messages are limited over all of a rule's sockets together" },
  { id: 'url-memo', file: 'dist/util/url.js', purpose: 'URL normalization remembers a few recent URLs, not every one' },
  { id: 'upstream-context', file: 'dist/rules/passthrough-handling.js', purpose: 'one upstream TLS context per trust setting, not per connection' },
  { id: 'ws-capture-head', file: 'dist/server/mockttp-server.js', purpose: "a site's refusal of a WebSocket is relayed, not kept" },
  { id: 'port-probe-expiry', file: 'dist/util/socket-util.js', purpose: 'an expired localhost port probe result is deleted' },
  { id: 'loop-check', file: 'dist/util/socket-util.js', purpose: 'a shared ephemeral port is not taken for a request loop' },
  { id: 'port-cache', file: 'dist/server/mockttp-server.js', purpose: 'no system call per request for the proxy port' },
  { id: 'plain-upstream', file: 'dist/rules/requests/request-step-impls.js', purpose: 'no TLS options built for plain HTTP upstreams' },
  { id: 'before-request-copies', file: 'dist/rules/requests/request-step-impls.js', purpose: 'the document hook gets header copies without lodash' },
  { id: 'before-request-framing', file: 'dist/rules/requests/request-step-impls.js', purpose: 'a request body past the replay limit keeps its framing after the document hook' },
  { id: 'lazy-x509', file: 'dist/util/certificates.js', purpose: 'the certificate packages load on first use, not at start' },
  { id: 'upstream-address-check', file: 'dist/rules/passthrough-handling.js', purpose: "a page's requests keep Local Network Access" },
  { id: 'raw-upstream-body', file: 'dist/rules/requests/request-step-impls.js', purpose: "a big download's body goes past Node's parser, which copied every byte" },
] as const;

export class MockttpPatchError extends Error {
  override name = 'MockttpPatchError';
}

const packageJsonSchema = z.object({ version: z.string(), dependencies: z.record(z.string(), z.string()).optional() });

async function packageVersion(path: string): Promise<z.infer<typeof packageJsonSchema>> {
  return packageJsonSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}

/** The hunks of our patch that the mockttp this process imports lacks (by id). */
export async function missingMockttpPatchHunks(mockttpDir: string): Promise<string[]> {
  const sources = new Map<string, string>();
  const missing: string[] = [];
  for (const hunk of MOCKTTP_PATCH_HUNKS) {
    if (!sources.has(hunk.file)) sources.set(hunk.file, await readFile(join(mockttpDir, hunk.file), 'utf8').catch(() => ''));
    if (!sources.get(hunk.file)?.includes(`AiPlugs patch (${hunk.id})`)) missing.push(hunk.id);
  }
  return missing;
}

/** The folder of the mockttp package that `import 'mockttp'` loads here (loader hooks included). */
export function importedMockttpDir(): string {
  // …/mockttp/dist/main.js → …/mockttp
  return dirname(dirname(fileURLToPath(import.meta.resolve('mockttp'))));
}

/**
 * The start-up self-check: the installed mockttp is the pinned version and carries every change of
 * our patch. `npm install --ignore-scripts` (or a failed `patch-package`) leaves it unpatched, and
 * an unpatched mockttp listens on every interface and keeps every body it forwards.
 */
export async function assertMockttpPatched(options: { mockttpDir?: string; rootPackageJson: string }): Promise<void> {
  const mockttpDir = options.mockttpDir ?? importedMockttpDir();
  const pinned = (await packageVersion(options.rootPackageJson)).dependencies?.mockttp;
  const installed = (await packageVersion(join(mockttpDir, 'package.json'))).version;
  const fix = 'Run `npm install` (its postinstall step, patch-package, applies patches/); do not install with --ignore-scripts.';
  if (pinned !== installed) {
    throw new MockttpPatchError(`mockttp ${installed} is installed but AiPlugs is pinned to and patched for ${pinned ?? 'nothing'} (${mockttpDir}). ${fix}`);
  }
  const missing = await missingMockttpPatchHunks(mockttpDir);
  if (missing.length > 0) {
    const names = missing.map((id) => `${id} (${MOCKTTP_PATCH_HUNKS.find((hunk) => hunk.id === id)?.purpose})`);
    throw new MockttpPatchError(`mockttp in ${mockttpDir} lacks our patch patches/mockttp+${installed}.patch: missing ${names.join(', ')}. ${fix}`);
  }
}
