import { createLineSplitter, StreamLimitError } from './line-splitter.js';

export { StreamLimitError } from './line-splitter.js';

/** One server-sent event: its `event:` name (default "message") and its joined `data:` lines. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

export interface SseParserOptions {
  /**
   * The longest line, and the most `data` one event may gather, in characters; past it `push`
   * throws a `StreamLimitError`. Set it for any stream from outside (the cloud relay does);
   * unbounded by default.
   */
  maxEventChars?: number;
}

/**
 * An incremental text/event-stream parser (the WHATWG rules that matter here: CR, LF or CRLF line
 * ends, multi-line `data:`, comments, an optional space after the colon, a blank line dispatches).
 * Feed it decoded text as it arrives; it hands back the events completed so far. Linear in the
 * text, and bounded by `maxEventChars`.
 *
 * @example
 *   const parser = createSseParser({ maxEventChars: 1 << 20 });
 *   for (const event of parser.push('data: {"a":1}\n\n')) console.log(event.data); // {"a":1}
 */
export function createSseParser(options: SseParserOptions = {}) {
  const maxEventChars = options.maxEventChars ?? Number.POSITIVE_INFINITY;
  const lines = createLineSplitter(maxEventChars);
  let data: string[] = [];
  let dataChars = 0;
  let event = '';
  let id: string | undefined;
  const takeLine = (line: string, out: ServerSentEvent[]) => {
    if (line === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
      data = [];
      dataChars = 0;
      event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      dataChars += value.length + 1;
      if (dataChars > maxEventChars) throw new StreamLimitError('An event', maxEventChars);
      data.push(value);
    } else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  };
  return {
    push(text: string): ServerSentEvent[] {
      const out: ServerSentEvent[] = [];
      for (const line of lines.push(text)) takeLine(line, out);
      return out;
    },
    /** Dispatches a final event that the server did not terminate with a blank line. */
    end(): ServerSentEvent[] {
      const out: ServerSentEvent[] = [];
      const rest = lines.end();
      if (rest !== undefined) takeLine(rest, out);
      takeLine('', out);
      return out;
    },
  };
}
