// Open streams per client: a stream holds a connection, a model call and its buffers for as long as a turn lasts,
// so one client (its API key, else its address) may hold only a few at once; one more is refused with a 429.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { CounselError } from "../../errors.ts";

export interface StreamLimitOptions {
  /** Streams one client may have open at once. */
  maxPerClient: number;
}

/** Counts each client's open streams; a client at the limit is refused instead of counted. */
export class StreamLimiter {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerClient: number) {}

  /**
   * Counts one more stream for `client`, or throws a 429 `too_many_streams` when it has the most it may.
   * Returns the release, to call once when the stream ends.
   *
   * @example
   * const release = app.streamLimiter.acquire(clientKey(request));
   * try { await stream(); } finally { release(); }
   */
  acquire(client: string): () => void {
    const streams = this.open.get(client) ?? 0;
    if (streams >= this.maxPerClient) {
      throw new CounselError(
        "too_many_streams",
        429,
        `At most ${this.maxPerClient} conversations may stream at once.`,
      );
    }
    this.open.set(client, streams + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      // Forgotten at zero, so that the map holds only clients streaming now.
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
  }
}

export const streamLimitPlugin = fp(
  async (app: FastifyInstance, options: StreamLimitOptions) => {
    app.decorate("streamLimiter", new StreamLimiter(options.maxPerClient));
  },
  { name: "counsel-stream-limit" },
);

declare module "fastify" {
  interface FastifyInstance {
    streamLimiter: StreamLimiter;
  }
}
