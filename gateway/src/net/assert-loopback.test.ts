import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { getLocal } from 'mockttp';
import { unpatchedMockttpDir } from '../../../test/support/unpatched-mockttp.js';
import { assertLoopbackListeners, isLoopbackAddress, LoopbackBindingError } from './assert-loopback.js';

const servers: Array<{ close(): unknown }> = [];
after(() => servers.forEach((server) => server.close()));

async function listening(host: string): Promise<Server> {
  const server = createServer();
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

describe('isLoopbackAddress', () => {
  it('accepts 127.0.0.0/8, ::1 and IPv4-mapped loopback only', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.ok(isLoopbackAddress(address), address);
    for (const address of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'localhost', '']) assert.ok(!isLoopbackAddress(address), address);
  });
});

describe('assertLoopbackListeners', () => {
  it('passes real servers bound to 127.0.0.1 (a net server, the API adapter, a patched mockttp)', async () => {
    const api = serve({ fetch: () => new Response('ok'), port: 0, hostname: '127.0.0.1' });
    servers.push(api);
    await once(api, 'listening');
    const proxy = getLocal({ listenHost: '127.0.0.1' });
    await proxy.start();
    try {
      const mockttpServer = (proxy as unknown as { server: Server }).server;
      assertLoopbackListeners({ plain: (await listening('127.0.0.1')).address(), API: api.address(), proxy: mockttpServer.address() });
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a server on every interface, naming it and where it listens', async () => {
    const api = await listening('127.0.0.1');
    const wildcard = await listening('0.0.0.0');
    const { port } = wildcard.address() as { port: number };
    assert.throws(() => assertLoopbackListeners({ API: api.address(), proxy: wildcard.address() }), (error: Error) => {
      assert.ok(error instanceof LoopbackBindingError);
      assert.match(error.message, new RegExp(`^Refusing to run: the proxy listens on 0\\.0\\.0\\.0:${port}, reachable from other machines`));
      return true;
    });
  });

  it('refuses the proxy an unpatched mockttp starts, whatever host it was asked for', async () => {
    const unpatched = (await import(pathToFileURL(join(unpatchedMockttpDir(), 'dist', 'main.js')).href)) as typeof import('mockttp');
    const proxy = unpatched.getLocal({ listenHost: '127.0.0.1' } as Parameters<typeof getLocal>[0]);
    await proxy.start();
    try {
      const address = (proxy as unknown as { server: Server }).server.address();
      assert.throws(() => assertLoopbackListeners({ proxy: address }), /the proxy listens on (\[::\]|0\.0\.0\.0):\d+/);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a server that is not listening (no address to check)', () => {
    assert.throws(() => assertLoopbackListeners({ proxy: null }), /the proxy reports no TCP address \(null\)/);
  });
});
