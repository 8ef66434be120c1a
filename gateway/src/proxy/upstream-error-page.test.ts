import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUpstreamErrorLog, describeUpstreamFailure, renderUpstreamErrorPage } from './upstream-error-page.js';

const failure = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('upstream failures', () => {
  it('names certificate problems and blocks them', () => {
    for (const code of ['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      const described = describeUpstreamFailure(failure(code), 'bad.test');
      assert.equal(described.kind, 'tls');
      assert.match(described.title, /Blocked: bad\.test/);
      assert.match(described.reason, new RegExp(code));
    }
  });

  it('classifies DNS, refused, timeout and reset, also inside AggregateError', () => {
    assert.equal(describeUpstreamFailure(failure('ENOTFOUND'), 'h').kind, 'dns');
    assert.equal(describeUpstreamFailure(new AggregateError([failure('ECONNREFUSED')]), 'h').kind, 'refused');
    assert.equal(describeUpstreamFailure(failure('ETIMEDOUT'), 'h').status, 504);
    assert.equal(describeUpstreamFailure(failure('ECONNRESET'), 'h').kind, 'reset');
  });

  it('says a redirect to two places is broken, not that the connection failed', () => {
    const described = describeUpstreamFailure(failure('ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION'), 'h');
    assert.deepEqual([described.kind, described.title], ['invalid', 'h sent a broken redirect']);
  });

  it('renders an ASCII page with the host escaped', () => {
    const page = renderUpstreamErrorPage(describeUpstreamFailure(failure('ENOTFOUND'), '<x>.test'));
    assert.match(page, /&#60;x&#62;\.test could not be found/);
    assert.ok(/^[\x00-\x7f]*$/.test(page));
  });

  it('logs each host once per window and background hosts at debug', () => {
    let time = 0;
    const level = createUpstreamErrorLog({ windowMs: 1000, now: () => time });
    assert.equal(level('accounts.google.com'), 'debug');
    assert.equal(level('site.test'), 'warn');
    assert.equal(level('site.test'), 'silent');
    time = 2000;
    assert.equal(level('site.test'), 'warn');
  });
});
