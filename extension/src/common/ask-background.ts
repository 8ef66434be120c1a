import browser from 'webextension-polyfill';
import type { BackgroundFailure, BackgroundReplies, BackgroundRequest } from './protocol';

/** Sends a typed request to the background from an extension page; a `{failure}` answer becomes a thrown error. */
export async function ask<T extends BackgroundRequest['type']>(message: Extract<BackgroundRequest, { type: T }>): Promise<BackgroundReplies[T]> {
  const reply = (await browser.runtime.sendMessage(message)) as BackgroundReplies[T] | BackgroundFailure;
  if (reply && typeof reply === 'object' && 'failure' in reply) throw new Error(reply.failure.message);
  return reply as BackgroundReplies[T];
}
