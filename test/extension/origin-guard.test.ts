/**
 * The guard the extension puts in front of code it runs in a page through `chrome.userScripts`:
 * Chromium can run a call aimed at one document in the tab's next one (a navigation that commits
 * meanwhile), so a plugin's file made for one site must stop at once on another site's page, and
 * where it does run it must run as the file alone would (strict or not, its globals the page's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { isStrictScript, onlyOnOrigin } from '../../extension/src/background/origin-guard.js';

/** Runs `code` as a classic script in a fresh global whose document is on `origin`: that global, and what the script threw. */
function runOn(origin: string, code: string): Record<string, unknown> & { thrown?: unknown } {
  const page: Record<string, unknown> = { location: { origin } };
  page.window = page;
  try {
    runInNewContext(code, page);
  } catch (error) {
    return Object.assign(page, { thrown: error });
  }
  return page;
}

describe('onlyOnOrigin', () => {
  it('stops the script before its first statement on a page of another site', () => {
    const page = runOn('https://evil.test', onlyOnOrigin('window.ran = true;', 'https://victim.test'));
    assert.match(String(page.thrown), /for another site's page/);
    assert.equal(page.ran, undefined);
  });

  it("runs it as it is on its own site: top-level declarations are the page's globals", () => {
    const page = runOn('https://victim.test', onlyOnOrigin('var shared = 1; function helper() { return 2; } window.ran = shared + helper();', 'https://victim.test'));
    assert.equal(page.ran, 3);
    assert.equal(typeof page.helper, 'function');
  });

  it('keeps a strict script strict and a sloppy one sloppy', () => {
    const strictness = 'window.strict = (function () { return this === undefined; })();';
    for (const prologue of ['"use strict";\n', "'use strict'\n", '/* header */\n// note\n"use strict";', '"use asm"; "use strict";']) {
      assert.equal(runOn('https://a.test', onlyOnOrigin(prologue + strictness, 'https://a.test')).strict, true, JSON.stringify(prologue));
    }
    for (const prologue of ['', 'var x = "use strict";\n', '"abc"\n.length;\n"use strict";\n', '// "use strict"\n', "'use strict'.length;\n", '"use strict" + "";\n']) {
      assert.equal(runOn('https://a.test', onlyOnOrigin(prologue + strictness, 'https://a.test')).strict, false, JSON.stringify(prologue));
    }
  });

  it("keeps the script's line numbers (the check shares its first line)", () => {
    assert.equal(onlyOnOrigin('a();\nb();\n', 'https://a.test').split('\n').length, 3);
  });
});

describe('isStrictScript', () => {
  it('reads the directive prologue only, and stops at an unclosed comment or string', () => {
    assert.equal(isStrictScript('"use strict"'), true);
    assert.equal(isStrictScript('/* never closed "use strict"'), false);
    assert.equal(isStrictScript('"never closed'), false);
    assert.equal(isStrictScript('"use\\x20strict";'), false);
    assert.equal(isStrictScript(`${'// line\n'.repeat(10_000)}'use strict';`), true);
  });
});
