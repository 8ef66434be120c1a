import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMisdirected } from './misdirected-requests.js';

const request = (url: string, hostname: string) => ({ url, destination: { hostname, port: 80 } });

describe('isMisdirected', () => {
  it('passes a request going where its URL says, however the host is spelled', () => {
    assert.equal(isMisdirected(request('http://example.com/', 'example.com')), false);
    assert.equal(isMisdirected(request('http://example.com/', 'EXAMPLE.com')), false);
    assert.equal(isMisdirected(request('http://example.com./', 'example.com')), false);
    assert.equal(isMisdirected(request('http://127.0.0.1:8000/', '127.0.0.1')), false);
    assert.equal(isMisdirected(request('http://[::1]:8000/', '::1')), false);
    // An IP written another way by a client that does not shorten it, as the URL parser does.
    assert.equal(isMisdirected(request('http://[::1]:8000/', '0:0:0:0:0:0:0:1')), false);
    assert.equal(isMisdirected(request('http://[::ffff:7f00:1]/', '::ffff:127.0.0.1')), false);
    // A named destination: mockttp built the URL from that name (a browser's tunnel), whatever Host said.
    assert.equal(isMisdirected(request('http://münchen.example/', 'xn--mnchen-3ya.example')), false);
  });

  it('catches a URL that names another host than the tunnel goes to', () => {
    assert.equal(isMisdirected(request('http://localhost:8000/', '127.0.0.2')), true);
    assert.equal(isMisdirected(request('https://bank.example/', '127.0.0.1')), true);
    assert.equal(isMisdirected(request('http://[::1]/', '127.0.0.1')), true);
  });
});
