import type { InjectionActivity, SkipReason } from '../events/activity-events.js';
import type { CspMode } from '../config/config-schema.js';
import { unfitDocument } from './document-plan.js';
import { isInjectableResponse } from './document-request.js';
import type { PassThroughReason } from './head-rewriter.js';

type Headers = Record<string, string | string[] | undefined>;

/** Where the proxy reports what it decided for each document (the activity view). */
export interface DecisionReporter {
  cspMode: CspMode;
  /** Why a document would get no plugins (pause, site rules, no match); null when some would run. Asked only for skipped documents. */
  explainNoPlugins: (url: string) => SkipReason | null;
  onDecision: (decision: InjectionActivity) => void;
}

/** A URL for logs: no query string or fragment (they can hold tokens, searches, personal data). */
export function loggableUrl(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

/** A response head as the proxy has it (mockttp's): nothing is copied out of it. */
export interface ResponseHead {
  statusCode: number;
  headers: Headers;
}

/**
 * Why a document got nothing though plugins may match: refused before looking at plugins (a
 * plugin-free load, an encoding that cannot be decoded, a frame whose plugins are for top-level
 * pages only), or planned for injection and then left
 * untouched once its bytes showed it could not take the markup (`PassThroughReason`: a UTF-16 BOM,
 * an XHTML shape with no safe place for it; reported when the transform says so).
 */
export type Refusal = Extract<SkipReason, 'undecodable' | 'plugin-free' | 'top-frame-only'> | PassThroughReason;

/**
 * The activity event for one document: what was injected, or the first reason nothing was, in
 * the order the proxy checks them (a plugin-free load, encoding, response type, the user's
 * switches, plugin matches). Called for every document, so it allocates nothing but the event
 * (and the plugin-less reason is only worked out for documents that got none).
 */
export function injectionDecision(
  url: string,
  response: ResponseHead,
  /** The plugins injected, or null when the document was left alone. */
  plugins: string[] | null,
  /** Set when nothing was injected: a load the user asked to have plugin-free, a content-encoding that could not be decoded, a body that could not take the markup. */
  refused: Refusal | null,
  reporter: Pick<DecisionReporter, 'cspMode' | 'explainNoPlugins'>,
): InjectionActivity {
  return {
    type: 'injection',
    url: loggableUrl(url),
    status: response.statusCode,
    plugins: plugins ?? [],
    reason: plugins ? null : skipReason(url, response, refused, reporter),
    csp: plugins ? reporter.cspMode : null,
  };
}

function skipReason(url: string, response: ResponseHead, refused: Refusal | null, reporter: Pick<DecisionReporter, 'cspMode' | 'explainNoPlugins'>): SkipReason {
  if (refused) return refused;
  if (!isInjectableResponse(response.statusCode, response.headers)) return 'not-html';
  // Plugins would run, yet nothing was planned: the planner found the document unfit for them.
  return reporter.explainNoPlugins(url) ?? unfitDocument(response.headers, reporter.cspMode) ?? 'unsupported-charset';
}
