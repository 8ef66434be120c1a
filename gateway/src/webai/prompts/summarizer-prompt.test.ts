import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizerOptionsSchema } from '../webai-apis.js';
import { summarizerPrompt } from './summarizer-prompt.js';

const build = (options: object, input = 'The text.', context?: string) => summarizerPrompt(summarizerOptionsSchema.parse(options), input, context);

describe('summarizerPrompt', () => {
  it('defaults to short Markdown key points, with the text in the user turn', () => {
    const [system, user] = build({});
    assert.match(system!.content, /bulleted list/);
    assert.match(system!.content, /three bullet points/);
    assert.match(system!.content, /Markdown/);
    assert.equal(user!.role, 'user');
    assert.match(user!.content, /Text to summarize:\nThe text\.$/);
  });

  it('follows type and length as the spec defines them', () => {
    assert.match(build({ type: 'tldr', length: 'medium' })[0]!.content, /three sentences/);
    assert.match(build({ type: 'teaser', length: 'long' })[0]!.content, /five sentences.*|intriguing/);
    assert.match(build({ type: 'headline', length: 'long' })[0]!.content, /at most 22 words/);
    assert.match(build({ type: 'key-points', length: 'long' })[0]!.content, /seven bullet points/);
  });

  it('honours plain-text format and the output language', () => {
    const system = build({ format: 'plain-text', outputLanguage: 'fr' })[0]!.content;
    assert.match(system, /plain text only/);
    assert.match(system, /in French/);
  });

  it('puts shared and per-call context before the input, labelled', () => {
    const user = build({ sharedContext: 'A news site.' }, 'Body', 'For kids')[1]!.content;
    assert.ok(user.indexOf('A news site.') < user.indexOf('For kids'));
    assert.ok(user.indexOf('For kids') < user.indexOf('Body'));
  });

  it('refuses options the spec does not define', () => {
    assert.throws(() => build({ type: 'essay' }));
    assert.throws(() => build({ colour: 'red' }));
  });
});
