import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDashboardAuth, readCookie } from './dashboard-auth.js';

describe('dashboard auth', () => {
  it('a login code works exactly once', () => {
    const auth = createDashboardAuth({ cookieName: 'aiplugs_session_5000' });
    const code = auth.mintLoginCode();
    assert.equal(auth.redeemLoginCode(code), true);
    assert.equal(auth.redeemLoginCode(code), false);
    assert.equal(auth.redeemLoginCode('made-up'), false);
  });

  it('a login code expires unused', () => {
    let clock = 0;
    const auth = createDashboardAuth({ cookieName: 'c', linkTtlMs: 1000, now: () => clock });
    const code = auth.mintLoginCode();
    clock = 1001;
    assert.equal(auth.redeemLoginCode(code), false);
  });

  it('sessions are recognised from the Cookie header (and, for API calls, their key) until ended', () => {
    const auth = createDashboardAuth({ cookieName: 'aiplugs_session_5000' });
    const { session, key } = auth.createSession();
    const header = `other=1; aiplugs_session_5000=${session}`;
    assert.equal(auth.isSession(header, null), true);
    assert.equal(auth.isSession(header, key), true);
    assert.equal(auth.isSession(header, undefined), false);
    assert.equal(auth.isSession(header, auth.createSession().key), false, "another session's key");
    assert.equal(auth.isSession(`aiplugs_session_5001=${session}`, null), false);
    assert.match(auth.sessionCookie(session), /HttpOnly; SameSite=Strict/);
    auth.endSession(header);
    assert.equal(auth.isSession(header, key), false);
    assert.equal(readCookie('a=1; b=x=y', 'b'), 'x=y');
  });
});
