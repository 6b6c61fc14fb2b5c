// The streams open now, so that a shutdown ends each with an `error` event (503 shutting_down: send it again)
// instead of waiting for every turn to finish or cutting the connections; also counted on /metrics.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Gauge } from "prom-client";
import { CounselError } from "../../errors.ts";

/** Why a stream ended early when the service stops: the client is told to retry elsewhere. */
export class ShuttingDownError extends CounselError {
  constructor() {
    super("shutting_down", 503, "The service is restarting; send the message again.");
    this.name = "ShuttingDownError";
  }
}

/** One open stream: its signal aborts with a ShuttingDownError when the service stops. */
export interface OpenStream {
  signal: AbortSignal;
  /** The stream has ended: it is no longer open. */
  close(): void;
}

/** Every open stream, until it closes or the service stops. */
export class OpenStreams {
  private readonly streams = new Set<AbortController>();

  get size(): number {
    return this.streams.size;
  }

  /**
   * Registers a stream until its `close()`.
   *
   * @example
   * const stream = app.openStreams.open();
   * try { await send(stream.signal); } finally { stream.close(); }
   */
  open(): OpenStream {
    const controller = new AbortController();
    this.streams.add(controller);
    return { signal: controller.signal, close: () => this.streams.delete(controller) };
  }

  /** Aborts every open stream with a ShuttingDownError. */
  shutDown(): void {
    for (const stream of this.streams) stream.abort(new ShuttingDownError());
  }
}

export const openStreamsPlugin = fp(
  async (app: FastifyInstance) => {
    const streams = new OpenStreams();
    app.decorate("openStreams", streams);
    new Gauge({
      name: "counsel_open_streams",
      help: "Advisor streams open now",
      registers: [app.metrics.registry],
      collect() {
        this.set(streams.size);
      },
    });
    // preClose runs before Fastify waits for the requests in flight: ending the streams here lets those requests
    // finish, so that the close completes instead of waiting on turns.
    app.addHook("preClose", async () => streams.shutDown());
  },
  { name: "counsel-open-streams", dependencies: ["counsel-metrics"] },
);

declare module "fastify" {
  interface FastifyInstance {
    openStreams: OpenStreams;
  }
}
