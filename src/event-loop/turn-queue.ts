// Turns on the event loop, first come first served, one let go per loop turn. Node runs every ready socket's
// callback in one loop turn, and each runs its work through to the next real wait, so heavy work that becomes
// ready together runs back to back: under load one loop turn ran a hundred questions (seconds, while
// connections waited to be accepted), and fifty agent turns' model-call set-ups (a p99 of 144-173 ms added to
// first tokens, which sat read-ready on their sockets meanwhile). Work that takes a turn here first runs one
// piece per loop turn, and the loop polls sockets between two pieces: a token that arrives waits behind one
// piece, not all of them.
// Used by the fair-turns plugin (a request's start) and the advisor agent (each model and tool call), one queue
// per process. Hand-written because the libraries do something else: p-limit and p-queue cap how many run at
// once (not how many start per loop turn), and @fastify/under-pressure sheds load with 503s instead of ordering it.

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
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const release = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      const leave = () => {
        const at = this.waiting.indexOf(release);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", leave, { once: true });
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
