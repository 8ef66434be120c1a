import type { InjectionActivity, SkipReason } from '../events/activity-events.js';
import type { CspMode } from '../config/config-schema.js';
import { isInjectableResponse } from './document-request.js';

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

export interface DocumentOutcome {
  url: string;
  statusCode: number;
  headers: Headers;
  /** The plugins injected, or null when the document was left alone. */
  plugins: string[] | null;
  /** False when its content-encoding could not be decoded (nothing was planned). */
  decodable: boolean;
}

/**
 * The activity event for one document: what was injected, or the first reason nothing was, in
 * the order the proxy checks them (encoding, response type, the user's switches, plugin matches).
 */
export function injectionDecision(outcome: DocumentOutcome, reporter: Pick<DecisionReporter, 'cspMode' | 'explainNoPlugins'>): InjectionActivity {
  const injected = outcome.plugins !== null;
  return {
    type: 'injection',
    url: loggableUrl(outcome.url),
    status: outcome.statusCode,
    plugins: outcome.plugins ?? [],
    reason: injected ? null : skipReason(outcome, reporter.explainNoPlugins),
    csp: injected ? reporter.cspMode : null,
  };
}

function skipReason(outcome: DocumentOutcome, explainNoPlugins: (url: string) => SkipReason | null): SkipReason {
  if (!outcome.decodable) return 'undecodable';
  if (!isInjectableResponse(outcome.statusCode, outcome.headers)) return 'not-html';
  // Plugins would run, yet nothing was planned: the planner refused the charset.
  return explainNoPlugins(outcome.url) ?? 'unsupported-charset';
}
