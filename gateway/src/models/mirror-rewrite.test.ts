import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMirrorSpec, rewriteToMirror } from './mirror-rewrite.js';

const rewrite = (url: string, spec: string) => rewriteToMirror(new URL(url), parseMirrorSpec(spec)).href;

describe('mirror rewrite', () => {
  it('moves every http(s) host below a catch-all mirror, keeping path and query', () => {
    assert.equal(rewrite('https://huggingface.co/org/m/resolve/main/x.gguf?download=1', 'https://mirror.example/hf/'), 'https://mirror.example/hf/org/m/resolve/main/x.gguf?download=1');
    assert.equal(rewrite('http://github.com/a/b', 'https://mirror.example'), 'https://mirror.example/a/b');
  });

  it('applies host rules before the catch-all, matching with the port when given', () => {
    const spec = 'https://all.example, huggingface.co=https://hf.example/base, 127.0.0.1:9=http://127.0.0.1:8000';
    assert.equal(rewrite('https://huggingface.co/x', spec), 'https://hf.example/base/x');
    assert.equal(rewrite('http://127.0.0.1:9/x', spec), 'http://127.0.0.1:8000/x');
    assert.equal(rewrite('http://127.0.0.1:10/x', spec), 'https://all.example/x');
  });

  it('leaves URLs alone without a matching rule, and file: URLs always', () => {
    assert.equal(rewrite('https://github.com/x', 'huggingface.co=https://hf.example'), 'https://github.com/x');
    assert.equal(rewriteToMirror(new URL('file:///m.bin'), parseMirrorSpec('https://all.example')).href, 'file:///m.bin');
    assert.deepEqual(parseMirrorSpec(''), []);
    assert.deepEqual(parseMirrorSpec(null), []);
  });

  it('rejects a spec that cannot work, saying which part', () => {
    assert.throws(() => parseMirrorSpec('not a url'), /"not a url" is not a URL/);
    assert.throws(() => parseMirrorSpec('huggingface.co=ftp://x'), /must be an http: or https: URL/);
    assert.throws(() => parseMirrorSpec('https://user:pw@mirror.example'), /credentials/);
  });
});
