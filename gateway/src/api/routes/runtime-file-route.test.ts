import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { PAGE_RUNTIME_FILE_SOURCE } from '../../runtime/page-runtime.js';
import { runtimeFileRoute } from './runtime-file-route.js';

const app = new Hono().get('/runtime.js', runtimeFileRoute);

async function fetchRuntime(acceptEncoding?: string) {
  const response = await app.request('/runtime.js', { headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });
  return { headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

describe('the page runtime file', () => {
  it('is gzipped for a browser that accepts gzip, and unpacks to the runtime', async () => {
    const { headers, body } = await fetchRuntime('gzip, deflate, br, zstd');
    assert.equal(headers.get('content-encoding'), 'gzip');
    assert.equal(headers.get('vary'), 'accept-encoding');
    assert.equal(gunzipSync(body).toString('latin1'), PAGE_RUNTIME_FILE_SOURCE);
    assert.ok(body.length < PAGE_RUNTIME_FILE_SOURCE.length / 2, `gzipped ${body.length} bytes of ${PAGE_RUNTIME_FILE_SOURCE.length}`);
  });

  it('is sent as it is to a client that does not accept gzip, or refuses it', async () => {
    for (const acceptEncoding of [undefined, 'identity', 'br', 'gzip;q=0, br']) {
      const { headers, body } = await fetchRuntime(acceptEncoding);
      assert.equal(headers.get('content-encoding'), null, `Accept-Encoding: ${acceptEncoding}`);
      assert.equal(body.toString('latin1'), PAGE_RUNTIME_FILE_SOURCE);
      assert.equal(headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
  });
});
