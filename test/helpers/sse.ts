// Reads a Server-Sent Events response with a real SSE parser (eventsource-parser), as a browser's EventSource
// would: named events with their JSON data, and comment lines (heartbeats) counted apart.
import { createParser } from "eventsource-parser";

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface SseReader {
  /** Resolves with the next event; undefined once the stream has ended. */
  next(): Promise<SseEvent | undefined>;
  /** Every remaining event, to the end of the stream. */
  rest(): Promise<SseEvent[]>;
  comments: string[];
}

export function readSse(response: Response): SseReader {
  if (!response.body) throw new Error("no body");
  const queue: SseEvent[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (message) => queue.push({ event: message.event ?? "message", data: JSON.parse(message.data) }),
    onComment: (comment) => comments.push(comment),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let ended = false;

  async function next(): Promise<SseEvent | undefined> {
    while (queue.length === 0 && !ended) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else parser.feed(value);
    }
    return queue.shift();
  }

  return {
    next,
    comments,
    async rest() {
      const events: SseEvent[] = [];
      for (let e = await next(); e; e = await next()) events.push(e);
      return events;
    },
  };
}
