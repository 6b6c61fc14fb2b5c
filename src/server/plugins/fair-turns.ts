// Fair turns for the routes that compute. With the embedded defaults (in-process index, offline answerer) a
// question's work runs on the event loop in one go, ~8 ms on 10k chunks. Routes marked `config: { fairTurn: true }`
// wait for their turn on the process's TurnQueue (src/event-loop/turn-queue.ts: first come first served, one let
// go per loop turn), after validation and auth, so that under load the loop reads sockets and accepts connections
// between two questions and every client waits about as long (the queue's length times the work).
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Gauge } from "prom-client";
import { CounselError } from "../../errors.ts";
import { TurnQueue } from "../../event-loop/turn-queue.ts";
import { clientAbortSignal } from "../abort.ts";

export interface FairTurnsOptions {
  /** Requests waiting at most; beyond it a marked route answers 503 "busy" at once. */
  maxWaiting: number;
  /** The process's queue, shared with the agents' model and tool calls; a fresh one when absent. */
  queue?: TurnQueue;
}

export const fairTurnsPlugin = fp(
  async (app: FastifyInstance, options: FairTurnsOptions) => {
    const queue = options.queue ?? new TurnQueue();
    app.decorate("turns", queue);
    new Gauge({
      name: "counsel_requests_waiting",
      help: "Questions, chats and ingestions waiting for their turn on the event loop",
      registers: [app.metrics.registry],
      collect() {
        this.set(queue.length);
      },
    });
    app.metrics.emf?.gauge("RequestsWaiting", () => queue.length);
    // After validation and auth (bad and refused requests never wait), before the handler.
    app.addHook("preHandler", async (request, reply) => {
      if (!request.routeOptions.config?.fairTurn) return;
      if (queue.length >= options.maxWaiting) {
        throw new CounselError(
          "busy",
          503,
          `The service is busy: ${queue.length} requests are waiting; retry shortly.`,
        );
      }
      await queue.take(clientAbortSignal(reply));
    });
  },
  { name: "counsel-fair-turns", dependencies: ["counsel-metrics"] },
);

declare module "fastify" {
  interface FastifyInstance {
    turns: TurnQueue;
  }
  interface FastifyContextConfig {
    /** The route's work waits for a fair turn on the event loop (see fair-turns.ts). */
    fairTurn?: boolean;
  }
}
