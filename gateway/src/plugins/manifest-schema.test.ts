import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatManifestIssues, manifestSchema } from './manifest-schema.js';

/** A manifest declaring one model under `key`. */
const withModelKey = (key: string) => ({
  manifest_version: 3,
  id: 'p',
  name: 'P',
  version: '1',
  inference: { default_mode: 'local', local_entry: 'backend.py', models: [{ key, filename: 'm.bin', source_url: 'https://example.com/m.bin', sha256: 'a'.repeat(64) }] },
});

const keyIssues = (key: string) => {
  const parsed = manifestSchema.safeParse(withModelKey(key));
  return parsed.success ? [] : formatManifestIssues(parsed.error);
};

describe('manifest schema: model keys', () => {
  it('accepts a key of the plugin’s own', () => {
    assert.deepEqual(keyIssues('MATH_MODEL_PATH'), []);
  });

  // PATH: the host no longer starts ("spawn ENOTDIR"); AIPLUGS_PLUGIN_ID: the model path is
  // silently replaced by the plugin id; the others are the gateway's or the user's environment.
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LC_ALL', 'PYTHONIOENCODING', 'SYSTEM_API_KEY', 'AIPLUGS_PLUGIN_ID', 'AIPLUGS_ANYTHING', 'Path']) {
    it(`refuses "${key}", a variable the worker already gets, naming it`, () => {
      const issues = keyIssues(key);
      assert.equal(issues.length, 1, issues.join('\n'));
      assert.match(issues[0] ?? '', new RegExp(`^inference\\.models\\[0\\]\\.key: "${key}" `));
    });
  }

  // NODE_OPTIONS: the model path was taken as Node's options and the worker could not start (helper-77).
  for (const key of ['NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'PYTHONSTARTUP', 'LD_PRELOAD', 'DYLD_INSERT_LIBRARIES', 'node_options']) {
    it(`refuses "${key}", which the worker's runtime reads as it starts`, () => {
      assert.match(keyIssues(key).join('\n'), new RegExp(`^inference\\.models\\[0\\]\\.key: "${key}" configures how the worker's runtime starts`));
    });
  }
});

describe('manifest schema: local_entry', () => {
  const entryIssues = (localEntry: string) => {
    const parsed = manifestSchema.safeParse({ manifest_version: 3, id: 'p', name: 'P', version: '1', inference: { default_mode: 'local', local_entry: localEntry } });
    return parsed.success ? [] : formatManifestIssues(parsed.error);
  };

  it('takes the backends the gateway runs: Python, JavaScript, TypeScript', () => {
    for (const entry of ['backend.py', 'backend.js', 'server/main.mjs', 'b.cjs', 'b.ts', 'b.mts', 'b.cts', 'B.PY']) assert.deepEqual(entryIssues(entry), [], entry);
  });

  it('refuses any other file at load, where it was enabled and failed every call with unsupported_backend', () => {
    for (const entry of ['backend.rb', 'backend', 'main.go']) {
      assert.deepEqual(entryIssues(entry), ['inference.local_entry: not a backend the gateway can run; use a .py, .js, .mjs, .cjs, .ts, .mts or .cts file'], entry);
    }
  });
});

describe('manifest schema: match patterns', () => {
  const patternIssues = (pattern: string) => {
    const parsed = manifestSchema.safeParse({ manifest_version: 3, id: 'p', name: 'P', version: '1', content_scripts: [{ matches: [pattern], js: ['a.js'] }] });
    return parsed.success ? [] : formatManifestIssues(parsed.error);
  };

  it('takes the hosts Chrome takes: any host, a leading "*." label, or none', () => {
    for (const pattern of ['<all_urls>', '*://*/*', '*://*.example.com/*', 'https://example.com/app/*', 'file:///*']) assert.deepEqual(patternIssues(pattern), [], pattern);
  });

  // The library took "*://*.*.com/*" and then ran the plugin on x.com, a.b.com and foo.*.com.
  for (const pattern of ['*://*.*.com/*', 'https://*.example.*/*', 'http://exa*mple.com/*', 'http://*a.com/*', 'http://a.*/*', '*://**.com/*', 'https://*.a*.com/*']) {
    it(`refuses "${pattern}": a "*" in the host other than a leading "*." label, as Chrome does`, () => {
      assert.deepEqual(patternIssues(pattern), [`content_scripts[0].matches[0]: Invalid match pattern "${pattern}": a "*" in the host must be the whole host or its first label, as in "*.example.com"`]);
    });
  }

  it('keeps the library’s reason for other mistakes', () => {
    assert.deepEqual(patternIssues('http://example.com:8080/*'), ['content_scripts[0].matches[0]: Invalid match pattern "http://example.com:8080/*": Hostname cannot include a port']);
    // A port's "*" is the port's, not the host's: it was called a wildcard misplaced in the host.
    for (const pattern of ['*://localhost:*/*', 'https://*.example.com:*/*']) assert.deepEqual(patternIssues(pattern), [`content_scripts[0].matches[0]: Invalid match pattern "${pattern}": Hostname cannot include a port`]);
  });

  it('repeats only the start of a long refused pattern (a 10 KB pattern filled a log line)', () => {
    for (const pattern of [`*://*.*.com/${'a'.repeat(10_000)}`, `gopher://x/${'a'.repeat(10_000)}`, `${'a'.repeat(10_000)}://x/*`]) {
      const [issue, ...others] = patternIssues(pattern);
      assert.deepEqual(others, []);
      assert.ok(issue && issue.length < 400, issue?.slice(0, 500));
      assert.ok(issue?.includes(`Invalid match pattern "${pattern.slice(0, 100)}… (${pattern.length} characters)": `), issue?.slice(0, 500));
    }
  });
});
