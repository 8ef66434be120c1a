import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayOrigin } from './active-plugins.js';

describe('isGatewayOrigin', () => {
  it('recognizes the API origin under every loopback name', () => {
    assert.equal(isGatewayOrigin('http://127.0.0.1:5000/login', 5000), true);
    assert.equal(isGatewayOrigin('http://localhost:5000/', 5000), true);
    assert.equal(isGatewayOrigin('http://[::1]:5000/', 5000), true);
  });

  it('leaves other ports, hosts and bad URLs alone', () => {
    assert.equal(isGatewayOrigin('http://127.0.0.1:5001/', 5000), false);
    assert.equal(isGatewayOrigin('https://example.com:5000/', 5000), false);
    assert.equal(isGatewayOrigin('not a url', 5000), false);
  });
});
