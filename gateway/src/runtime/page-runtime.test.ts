import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pageRuntimeScript } from './page-runtime.js';

describe('pageRuntimeScript', () => {
  it('applies the runtime to a config that can neither end the script, nor open a comment or CDATA end, nor leave ASCII', () => {
    const hostile = '</script><!--]]><script>\u2028\u2029é&';
    const config = { version: hostile, apiPort: 5000, bridge: `/__aiplugs/cap/${hostile}`, plugins: [hostile], idle: [hostile] };
    const script = pageRuntimeScript(config);
    assert.doesNotMatch(script, /<\/script|<!--|\]\]>|<script/i);
    assert.match(script, /^[\x00-\x7f]*$/);
    assert.ok(script.endsWith(');'));
    // …and the runtime still gets exactly that config.
    assert.deepEqual(JSON.parse(script.slice(script.lastIndexOf('({"version":') + 1, -2)), config);
  });
});
