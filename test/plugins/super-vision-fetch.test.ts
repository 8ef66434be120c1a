import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PHOTOS, pluginModule } from './super-vision-support.js';

// Super Vision fetches images a page can show but not read. Any page can name any URL, so this is
// an SSRF surface: these tests aim it at the user's own machine and check that nothing arrives,
// and check the bounds (redirects, size, time, content type, no user credentials).
//
// Only loopback servers exist here. A "public" host is played by 127.0.0.1 under a test policy
// that allows exactly that address; 127.0.0.2 plays a private service the attack aims at.

interface FetchModule {
  isPublicAddress(address: string): boolean;
  fetchImage(
    url: string,
    options?: { signal?: AbortSignal; isAllowedAddress?: (address: string) => boolean; limits?: { maxBytes?: number; timeoutMs?: number; maxRedirects?: number } },
  ): Promise<{ bytes: Buffer; contentType: string; url: string }>;
}

let fetcher: FetchModule;
let photo: Buffer;

interface Recorded {
  server: Server;
  port: number;
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
}

async function serve(host: string, handler: (path: string, response: ServerResponse) => void): Promise<Recorded> {
  const requests: Recorded['requests'] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push({ path, headers: request.headers });
    handler(path, response);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

let imageHost: Recorded; // 127.0.0.1: "public" under the test policy
let privateService: Recorded; // 127.0.0.2: never allowed
const onlyImageHost = (address: string) => address === '127.0.0.1';
const at = (path: string) => `http://127.0.0.1:${imageHost.port}${path}`;

before(async () => {
  fetcher = await pluginModule<FetchModule>('fetch-image.js');
  photo = await readFile(join(PHOTOS, 'person.jpg'));
  privateService = await serve('127.0.0.2', (_path, response) => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo));
  imageHost = await serve('127.0.0.1', (path, response) => {
    if (path === '/photo.jpg') return void response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(photo.length) }).end(photo);
    if (path === '/moved') return void response.writeHead(302, { location: '/photo.jpg' }).end();
    if (path === '/to-private') return void response.writeHead(302, { location: `http://127.0.0.2:${privateService.port}/secret.jpg` }).end();
    if (path === '/loop') return void response.writeHead(302, { location: '/loop' }).end();
    if (path === '/page.html') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>not an image</h1>');
    if (path === '/declared-huge.jpg') return void response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(1 << 30) }).end();
    if (path === '/endless.jpg') {
      // No Content-Length and no end: only the reader's byte cap stops it (bounded here too).
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 64 && !response.destroyed && response.write(chunk)) sent++;
        if (sent < 64 && !response.destroyed) response.once('drain', pump);
      };
      return pump();
    }
    if (path === '/stalls.jpg') return void response.writeHead(200, { 'content-type': 'image/jpeg' }); // headers, then nothing
    response.writeHead(404).end();
  });
});

after(async () => {
  for (const { server } of [imageHost, privateService]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function refused(url: string, options: Parameters<FetchModule['fetchImage']>[1] = {}, code = 'address_refused') {
  await assert.rejects(fetcher.fetchImage(url, options), (error: Error & { code?: string }) => {
    assert.equal(error.name, 'ImageFetchError');
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe('super-vision image fetch: the page cannot use it to reach the user\'s machine or network', () => {
  it('refuses loopback by name and by every spelling of the address, and nothing reaches the server', async () => {
    const port = imageHost.port;
    for (const url of [
      `http://127.0.0.1:${port}/photo.jpg`,
      `http://localhost:${port}/photo.jpg`, // resolved by DNS (hosts file), checked in the socket's lookup
      `http://[::1]:${port}/photo.jpg`,
      `http://[::ffff:127.0.0.1]:${port}/photo.jpg`,
      `http://2130706433:${port}/photo.jpg`, // 127.0.0.1 as one decimal number
      `http://0x7f.1:${port}/photo.jpg`,
      `http://0.0.0.0:${port}/photo.jpg`, // "this host" on Linux
    ]) {
      await refused(url);
    }
    assert.deepEqual(imageHost.requests, []);
  });

  it('classifies addresses: only public unicast passes', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.215.14']) assert.equal(fetcher.isPublicAddress(address), true, address);
    for (const address of [
      '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
      '255.255.255.255', '224.0.0.1', '192.0.2.1', '198.18.0.1', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1',
      '::ffff:10.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::1', '2001:db8::1', 'ff02::1', 'not an address',
    ]) {
      assert.equal(fetcher.isPublicAddress(address), false, address);
    }
  });

  it('a redirect from an allowed host to a private one is refused at the hop', async () => {
    await refused(at('/to-private'), { isAllowedAddress: onlyImageHost });
    assert.deepEqual(privateService.requests, []);
  });

  it('only http(s) URLs without credentials', async () => {
    const before = imageHost.requests.length;
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x.jpg', 'data:image/png;base64,iVBORw0KGgo=', 'gopher://127.0.0.1:70/', `http://user:secret@127.0.0.1:${imageHost.port}/photo.jpg`]) {
      await refused(url, { isAllowedAddress: onlyImageHost });
    }
    await refused('not a url', { isAllowedAddress: onlyImageHost });
    assert.equal(imageHost.requests.length, before);
  });
});

describe('super-vision image fetch from an allowed host', () => {
  it('fetches a JPEG, following a redirect, and sends none of the user\'s cookies or credentials', async () => {
    const fetched = await fetcher.fetchImage(at('/moved'), { isAllowedAddress: onlyImageHost });
    assert.ok(fetched.bytes.equals(photo));
    assert.equal(fetched.contentType, 'image/jpeg');
    assert.equal(fetched.url, at('/photo.jpg'));
    const request = imageHost.requests.at(-1)!;
    assert.equal(request.path, '/photo.jpg');
    assert.equal(request.headers.cookie, undefined);
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers.referer, undefined);
  });

  it('stops after 3 redirects', async () => {
    const before = imageHost.requests.length;
    await refused(at('/loop'), { isAllowedAddress: onlyImageHost }, 'fetch_failed');
    assert.equal(imageHost.requests.length - before, 4);
  });

  it('reads only JPEG or PNG answers', async () => {
    await assert.rejects(fetcher.fetchImage(at('/page.html'), { isAllowedAddress: onlyImageHost }), { code: 'not_an_image', message: /text\/html, not a JPEG or PNG/ });
  });

  it('refuses a declared size over the cap without reading, and stops an endless body at the cap', async () => {
    await assert.rejects(fetcher.fetchImage(at('/declared-huge.jpg'), { isAllowedAddress: onlyImageHost }), { code: 'too_large', message: /1073741824 bytes/ });
    await assert.rejects(fetcher.fetchImage(at('/endless.jpg'), { isAllowedAddress: onlyImageHost, limits: { maxBytes: 256 * 1024 } }), { code: 'too_large' });
  });

  it('gives up at the deadline when the server stalls', async () => {
    await assert.rejects(fetcher.fetchImage(at('/stalls.jpg'), { isAllowedAddress: onlyImageHost, limits: { timeoutMs: 300 } }), { code: 'fetch_failed', message: /within 0.3 s/ });
  });

  it('the caller\'s signal cancels it', async () => {
    const controller = new AbortController();
    const pending = fetcher.fetchImage(at('/stalls.jpg'), { isAllowedAddress: onlyImageHost, signal: controller.signal });
    controller.abort(new Error('cancelled by the test'));
    await assert.rejects(pending, { message: /cancelled by the test|aborted/ });
  });
});
