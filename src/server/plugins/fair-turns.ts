// Fair turns for the routes that compute. With the embedded defaults (in-process index, offline answerer) a
// question's work runs on the event loop in one go, ~8 ms on 10k chunks. Node reads every ready socket in one
// loop turn, so under load one turn ran a hundred questions back to back, seconds long, and connections that
// were not yet accepted waited through all of them: with 200 clients, 64 sat in the listen queue for over 10 s
// (timeouts) while the others were answered in 50 ms. Routes marked `config: { fairTurn: true }` wait here, first
// come first served, and one is let go per loop turn, so that the loop reads sockets and accepts connections
// between two questions; every client then waits about as long (the queue's length times the work).
// Hand-written because the libraries do something else: p-limit and p-queue cap how many run at once (not how
// many start per loop turn), and @fastify/under-pressure sheds load with 503s instead of ordering it.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Gauge } from "prom-client";
import { CounselError } from "../../errors.ts";
import { clientAbortSignal } from "../abort.ts";

export interface FairTurnsOptions {
  /** Requests waiting at most; beyond it a marked route answers 503 "busy" at once. */
  maxWaiting: number;
}

/** First come, first served; at most one waiter let go per event-loop turn. */
export class TurnQueue {
  private readonly waiting: (() => void)[] = [];
  private pumping = false;

  get length(): number {
    return this.waiting.length;
  }

  /**
   * Resolves on this caller's turn, or rejects with `signal`'s reason when it aborts first (the client left):
   * its place goes to the next in line.
   */
  take(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const release = () => {
        signal.removeEventListener("abort", leave);
        resolve();
      };
      const leave = () => {
        const at = this.waiting.indexOf(release);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", leave, { once: true });
      this.waiting.push(release);
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(this.pump);
      }
    });
  }

  // A setImmediate callback queued from within one runs in the next loop turn, after the poll phase: each
  // released waiter's work (its microtasks) finishes before the loop polls sockets again.
  private readonly pump = (): void => {
    const next = this.waiting.shift();
    if (!next) {
      this.pumping = false;
      return;
    }
    next();
    setImmediate(this.pump);
  };
}

export const fairTurnsPlugin = fp(
  async (app: FastifyInstance, options: FairTurnsOptions) => {
    const queue = new TurnQueue();
    app.decorate("turns", queue);
    new Gauge({
      name: "counsel_requests_waiting",
      help: "Questions, chats and ingestions waiting for their turn on the event loop",
      registers: [app.metrics.registry],
      collect() {
        this.set(queue.length);
      },
    });
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
