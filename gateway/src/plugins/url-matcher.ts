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

/**
 * Whether `glob` (`*`: any run of characters, `?`: any one) matches all of `text`. Greedy, going
 * back only to the last `*`: at most glob × text steps, never the exponential backtracking a
 * regular expression built from the glob can take on a long hostile URL.
 */
export function globMatches(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || (glob[g] !== '*' && glob[g] === text[t]))) {
      g += 1;
      t += 1;
    } else if (g < glob.length && glob[g] === '*') {
      star = g;
      resume = t;
      g += 1;
    } else if (star >= 0) {
      g = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g += 1;
  return g === glob.length;
}

/**
 * WebExtension semantics: included by any `matches` pattern and, when there are `include_globs`,
 * by one of them; excluded by none of `exclude_matches` and `exclude_globs`.
 */
export function contentScriptCovers(compiled: CompiledContentScript, url: string): boolean {
  const { include_globs: include, exclude_globs: exclude } = compiled.script;
  return (
    compiled.matches.some((pattern) => pattern.includes(url)) &&
    !compiled.excludes.some((pattern) => pattern.includes(url)) &&
    (include.length === 0 || include.some((glob) => globMatches(glob, url))) &&
    !exclude.some((glob) => globMatches(glob, url))
  );
}
