// The process's queue of event-loop turns (src/event-loop/turn-queue.ts): one waiter let go per loop turn, first
// come first served, the loop reading sockets between two waiters' work, and a waiter that leaves giving up its
// place.
import { once } from "node:events";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";

/** Keeps the event loop's thread busy for `ms`, as a piece of CPU-bound work does. */
function busy(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("TurnQueue", () => {
  it("lets one waiter go per event-loop turn: each one's work finishes before the next one starts", async () => {
    const queue = new TurnQueue();
    const log: string[] = [];
    // Each waiter's work is a chain of awaits, as a request's is; released together, the chains would interleave.
    const turns = ["a", "b", "c"].map(async (name) => {
      await queue.take();
      for (let step = 0; step < 3; step++) {
        log.push(`${name}${step}`);
        await Promise.resolve();
      }
    });
    await Promise.all(turns);
    expect(log).toEqual(["a0", "a1", "a2", "b0", "b1", "b2", "c0", "c1", "c2"]);
    expect(queue.length).toBe(0);
  });

  it("reads a socket that became ready during one waiter's work before the next waiter starts", async () => {
    // What keeps a stream's token from waiting behind other turns' work: data that arrives while one piece of
    // work runs is read before the next piece.
    const server = net.createServer((socket) => socket.on("data", () => log.push("read")));
    const log: string[] = [];
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    await once(client, "connect");
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server side has accepted
    try {
      const queue = new TurnQueue();
      const first = queue.take().then(() => {
        log.push("a");
        client.write("token");
        busy(30); // the bytes arrive meanwhile
      });
      const second = queue.take().then(() => log.push("b"));
      await Promise.all([first, second]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(log).toEqual(["a", "read", "b"]);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("rejects with the abort reason when the signal fires first, and at once if it already has", async () => {
    const queue = new TurnQueue();
    const gone = new AbortController();
    gone.abort(new Error("left"));
    await expect(queue.take(gone.signal)).rejects.toThrow("left");
    expect(queue.length).toBe(0);

    const leaving = new AbortController();
    const first = queue.take();
    const second = queue.take(leaving.signal);
    const third = queue.take();
    expect(queue.length).toBe(3);
    leaving.abort(new Error("client left"));
    await expect(second).rejects.toThrow("client left");
    expect(queue.length).toBe(2);
    await Promise.all([first, third]);
    expect(queue.length).toBe(0);
  });
});
