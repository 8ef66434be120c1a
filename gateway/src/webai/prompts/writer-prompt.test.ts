import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writerOptionsSchema } from '../webai-apis.js';
import { writerPrompt } from './writer-prompt.js';

describe('writerPrompt', () => {
  it('writes in the chosen tone, length and format, with the task in the user turn', () => {
    const [system, user] = writerPrompt(writerOptionsSchema.parse({ tone: 'formal', length: 'long', format: 'plain-text' }), 'A thank-you note', 'to my landlord');
    assert.match(system!.content, /formal tone/);
    assert.match(system!.content, /five paragraphs/);
    assert.match(system!.content, /plain text only/);
    assert.match(user!.content, /to my landlord[\s\S]*Writing task:\nA thank-you note$/);
  });

  it('defaults to a short, neutral Markdown text', () => {
    const [system] = writerPrompt(writerOptionsSchema.parse({}), 'x', undefined);
    assert.match(system!.content, /neutral tone.*one paragraph.*Markdown/);
  });
});
