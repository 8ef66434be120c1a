import { MatchPattern } from '@webext-core/match-patterns';
import type { ContentScript } from './manifest-schema.js';

/** A content script with its patterns compiled once, so per-request matching does no parsing. */
export interface CompiledContentScript {
  script: ContentScript;
  matches: MatchPattern[];
  excludes: MatchPattern[];
}

export function compileContentScript(script: ContentScript): CompiledContentScript {
  return {
    script,
    matches: script.matches.map((pattern) => new MatchPattern(pattern)),
    excludes: script.exclude_matches.map((pattern) => new MatchPattern(pattern)),
  };
}

/** WebExtension semantics: included by any `matches` pattern and excluded by none of `exclude_matches`. */
export function contentScriptCovers(compiled: CompiledContentScript, url: string): boolean {
  return compiled.matches.some((pattern) => pattern.includes(url)) && !compiled.excludes.some((pattern) => pattern.includes(url));
}
