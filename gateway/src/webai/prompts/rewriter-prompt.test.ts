import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriterOptionsSchema } from '../webai-apis.js';
import { rewriterPrompt } from './rewriter-prompt.js';

describe('rewriterPrompt', () => {
  it('keeps everything as it is by default', () => {
    const [system, user] = rewriterPrompt(rewriterOptionsSchema.parse({}), 'Hey there', undefined);
    assert.match(system!.content, /Keep the tone.*same length.*formatting of the original/);
    assert.match(user!.content, /Text to rewrite:\nHey there$/);
  });

  it('changes tone, length and format on request', () => {
    const [system] = rewriterPrompt(rewriterOptionsSchema.parse({ tone: 'more-formal', length: 'shorter', format: 'markdown' }), 'x', undefined);
    assert.match(system!.content, /more formal.*shorter.*Markdown/);
  });

  it('has no tone a Writer has', () => {
    assert.throws(() => rewriterOptionsSchema.parse({ tone: 'formal' }));
  });
});
