/** One server-sent event: its `event:` name (default "message") and its joined `data:` lines. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * An incremental text/event-stream parser (the WHATWG rules that matter here: CR, LF or CRLF line
 * ends, multi-line `data:`, comments, an optional space after the colon, a blank line dispatches).
 * Feed it decoded text as it arrives; it hands back the events completed so far.
 *
 * @example
 *   const parser = createSseParser();
 *   for (const event of parser.push('data: {"a":1}\n\n')) console.log(event.data); // {"a":1}
 */
export function createSseParser() {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  const takeLine = (line: string, out: ServerSentEvent[]) => {
    if (line === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
      data = [];
      event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  };
  return {
    push(text: string): ServerSentEvent[] {
      buffer += text;
      const out: ServerSentEvent[] = [];
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A lone CR at the very end may be the first half of a CRLF: wait for more text.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        takeLine(buffer.slice(0, match.index), out);
        buffer = buffer.slice(match.index + match[0].length);
      }
      return out;
    },
    /** Dispatches a final event that the server did not terminate with a blank line. */
    end(): ServerSentEvent[] {
      const out: ServerSentEvent[] = [];
      if (buffer) takeLine(buffer.replace(/\r$/, ''), out);
      buffer = '';
      takeLine('', out);
      return out;
    },
  };
}
