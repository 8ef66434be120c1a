/** One server-sent event as the Web AI routes send them: a name and its JSON data. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

/**
 * Splits a `text/event-stream` into events as its text arrives: `push` takes any piece of the
 * stream (events may be cut anywhere) and returns the events it completed. Only `event:` and
 * `data:` lines matter here; data that is not JSON is kept as text.
 *
 * @example
 *   const parse = createSseParser();
 *   parse('event: chunk\ndata: {"te'); // -> []
 *   parse('xt":"Hi"}\n\n');            // -> [{ event: 'chunk', data: { text: 'Hi' } }]
 */
export function createSseParser(fromJson: (text: string) => unknown = JSON.parse): (piece: string) => ServerEvent[] {
  let buffer = '';
  return (piece) => {
    buffer += piece.replace(/\r\n?/g, '\n');
    const events: ServerEvent[] = [];
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length === 0) continue;
      const text = data.join('\n');
      let parsed: unknown = text;
      try {
        parsed = fromJson(text);
      } catch {
        // Not JSON: the text itself.
      }
      events.push({ event, data: parsed });
    }
    return events;
  };
}
