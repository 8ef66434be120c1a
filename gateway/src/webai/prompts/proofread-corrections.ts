/**
 * The Proofreader's `corrections`, derived by diffing the page's input with the model's corrected
 * text (the model is never asked for offsets: it cannot count characters). Word-level Myers diff
 * after trimming the common prefix and suffix, with the edit distance bounded (500 token edits; memory O(edits²)) so a wholly
 * different answer costs O((n + m) · maxEdits), not O(n · m): past the bound the whole differing
 * middle becomes one correction.
 */

export type CorrectionType = 'spelling' | 'punctuation' | 'capitalization' | 'preposition' | 'missing-words' | 'grammar';

export interface Correction {
  /** UTF-16 offsets into the input, `endIndex` exclusive: what `correction` replaces. */
  startIndex: number;
  endIndex: number;
  correction: string;
  types?: CorrectionType[];
}

/**
 * Words (letters, digits, apostrophes) and single other characters, each with the white space
 * after it: spaces then never match on their own, which would pull the diff out of word alignment.
 */
const TOKEN = /[\p{L}\p{N}\p{M}'’]+\s*|[^\s\p{L}\p{N}\p{M}]\s*|\s+/gu;

function trailingSpace(text: string): number {
  let end = text.length;
  while (end > 0 && /\s/.test(text[end - 1]!)) end -= 1;
  return text.length - end;
}

function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Edit script of `a` → `b` as matched index pairs (Myers' greedy algorithm), or null past `maxEdits`. */
function matchedPairs(a: string[], b: string[], maxEdits: number): Array<[number, number]> | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const frontier = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d += 1) {
    trace.push(frontier.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && frontier[offset + k - 1]! < frontier[offset + k + 1]!) ? frontier[offset + k + 1]! : frontier[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      frontier[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, offset, n, m, d);
    }
  }
  return null;
}

function backtrack(trace: Int32Array[], offset: number, n: number, m: number, edits: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  let x = n;
  let y = m;
  for (let d = edits; d > 0; d -= 1) {
    const frontier = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && frontier[offset + k - 1]! < frontier[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = frontier[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) pairs.push([(x -= 1), (y -= 1)]);
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) pairs.push([(x -= 1), (y -= 1)]);
  return pairs.reverse();
}

/** A guess at what kind of mistake a correction fixes, from its two texts alone. */
export function correctionType(original: string, corrected: string): CorrectionType {
  if (original.trim() === '') return 'missing-words';
  if (original.toLowerCase() === corrected.toLowerCase()) return 'capitalization';
  const words = (text: string) => text.replace(/[^\p{L}\p{N}\s]/gu, '');
  if (words(original) === words(corrected)) return 'punctuation';
  if (!/\s/.test(original.trim()) && !/\s/.test(corrected.trim())) return 'spelling';
  return 'grammar';
}

/**
 * Where `corrected` differs from `input`, as replacements of input ranges.
 *
 * @example
 *   proofreadCorrections('Ths is wrng.', 'This is wrong.');
 *   // → [{ startIndex: 0, endIndex: 3, correction: 'This' }, { startIndex: 7, endIndex: 11, correction: 'wrong' }]
 */
export function proofreadCorrections(input: string, corrected: string, options: { withTypes?: boolean; maxEdits?: number } = {}): Correction[] {
  const a = tokenize(input);
  const b = tokenize(corrected);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const middleA = a.slice(head, a.length - tail);
  const middleB = b.slice(head, b.length - tail);
  const pairs = matchedPairs(middleA, middleB, options.maxEdits ?? 500) ?? [];
  // Offsets of every input token, so hunks map back to input characters.
  const starts: number[] = [];
  let position = 0;
  for (const token of a) {
    starts.push(position);
    position += token.length;
  }
  starts.push(position);
  const corrections: Correction[] = [];
  let i = 0;
  let j = 0;
  const flush = (untilI: number, untilJ: number) => {
    if (untilI === i && untilJ === j) return;
    const startIndex = starts[head + i]!;
    let endIndex = starts[head + untilI]!;
    let correction = middleB.slice(j, untilJ).join('');
    // Tokens carry their trailing space; a space both sides share is not part of the correction.
    const shared = Math.min(trailingSpace(input.slice(startIndex, endIndex)), trailingSpace(correction));
    if (shared > 0 && input.slice(endIndex - shared, endIndex) === correction.slice(correction.length - shared)) {
      endIndex -= shared;
      correction = correction.slice(0, correction.length - shared);
    }
    const original = input.slice(startIndex, endIndex);
    corrections.push({ startIndex, endIndex, correction, ...(options.withTypes ? { types: [correctionType(original, correction)] } : {}) });
  };
  for (const [x, y] of [...pairs, [middleA.length, middleB.length] as [number, number]]) {
    flush(x, y);
    i = x + 1;
    j = y + 1;
  }
  return corrections;
}
