// Preloaded into the gateway child (NODE_OPTIONS=--import) by the proxy-routing test only:
// resolves *.aiplugs-e2e.test to 127.0.0.1, so a test site can have a name that browsers do not
// treat as local (Chromium never proxies localhost, whatever a PAC script says).
import dns from 'node:dns';

const SUFFIX = '.aiplugs-e2e.test';
const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (typeof hostname === 'string' && hostname.toLowerCase().endsWith(SUFFIX)) {
    const all = typeof options === 'object' && options !== null && options.all;
    if (all) process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    else process.nextTick(callback, null, '127.0.0.1', 4);
    return;
  }
  return original.call(this, hostname, options, callback);
};
