import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { holdsToken, pingGateway } from './running-gateway.js';

/** A server on the port of a gateway that died, answering every route with `bytes` of an endless-looking JSON string. */
async function flooding(bytes: number) {
  let sent = 0;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"name":"aiplugs","pad":"');
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (sent < bytes && response.write(piece)) sent += piece.length;
      if (sent < bytes) response.once('drain', pump);
      else response.end('"}');
    };
    response.on('error', () => undefined);
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, close: () => (server.closeAllConnections(), server.close()) };
}

describe('finding a gateway on a stale runtime.json', () => {
  it('reads at most 64 KiB of what a server that has proven nothing answers (a squatter could send gigabytes)', { timeout: 30_000 }, async () => {
    // 8 MiB arrive well within the 2 s the CLI waits: before, all of it was read and parsed, and
    // the answer (it says "aiplugs") taken; a bigger one only ran into that timeout, in memory.
    const squatter = await flooding(8 * 1024 * 1024);
    try {
      assert.equal(await pingGateway(squatter.url, 60_000), null);
      assert.equal(await holdsToken(squatter.url, squatter.port, 'x'.repeat(43), 60_000), false);
    } finally {
      squatter.close();
    }
  });
});
