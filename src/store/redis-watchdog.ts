// A Redis that stops answering without closing its connection (a frozen process, a network partition, a stalled
// failover) would leave every command waiting forever: node-redis 4 has no command timeout, and the TCP
// connection stays up. The watchdog PINGs on the same connection every `intervalMs`; a PING unanswered after
// `timeoutMs` marks Redis down and disconnects the client, which rejects the commands in flight (the requests
// behind them answer 503), and while the client is closed or connecting new commands fail at once (no offline
// queue). It then connects again and marks Redis up once a PING is answered.
// A dropped connection (Redis killed or restarted) is not the watchdog's: node-redis reconnects by itself.
import type { RedisNode } from "./redis-client.ts";

export interface RedisWatchdogOptions {
  /** How often to PING (and, while down, to try again). */
  intervalMs: number;
  /** A PING slower than this means Redis is not answering. */
  timeoutMs: number;
  onDown?: (reason: string) => void;
  onUp?: () => void;
}

export interface RedisHealth {
  up: boolean;
  /** Why Redis is down, for /readyz. */
  reason?: string;
  /** When the state last changed. */
  since: Date;
}

export interface RedisWatchdog {
  health(): RedisHealth;
  stop(): void;
}

export const TIMED_OUT = Symbol("timed out");

/** Resolves with `work`'s value, or TIMED_OUT after `ms` (checked once more after a loop turn, see below). */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let settled: { value: T } | undefined;
  const tracked = work.then((value) => {
    settled = { value };
    return value;
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  try {
    const first = await Promise.race([tracked, late]);
    if (first !== TIMED_OUT) return first;
    // Timers run before the loop reads sockets: after a long synchronous stretch of our own, the reply may be
    // waiting unread. One setImmediate lets the poll phase read it, so a busy process does not call Redis frozen.
    await new Promise((resolve) => setImmediate(resolve));
    return settled ? settled.value : TIMED_OUT;
  } finally {
    clearTimeout(timer);
  }
}

/** The up/down state a watchdog keeps, telling onDown and onUp of each change. */
export function healthTracker(options: Pick<RedisWatchdogOptions, "onDown" | "onUp">) {
  let health: RedisHealth = { up: true, since: new Date() };
  return {
    health: () => health,
    setDown(reason: string) {
      if (health.up) options.onDown?.(reason);
      health = { up: false, reason, since: health.up ? new Date() : health.since };
    },
    setUp() {
      if (health.up) return;
      options.onUp?.();
      health = { up: true, since: new Date() };
    },
  };
}

/** Runs `check` every `intervalMs`, never two at once, until stopped; it alone never keeps the process alive. */
export function repeat(check: () => Promise<void>, intervalMs: number): { stop(): void; stopped(): boolean } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      await check();
      if (!stopped) loop();
    }, intervalMs);
    timer.unref();
  };
  loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    stopped: () => stopped,
  };
}

/** Whether `client` answers a PING within `timeoutMs`. */
export async function pings(client: RedisNode, timeoutMs: number): Promise<boolean> {
  return (
    (await within(
      client.ping().catch(() => "failed"),
      timeoutMs,
    )) === "PONG"
  );
}

export function watchRedis(client: RedisNode, options: RedisWatchdogOptions): RedisWatchdog {
  const { health, setDown, setUp } = healthTracker(options);

  // A connection attempt of ours, left to finish by itself: node-redis 4 does not survive disconnect() while
  // connect() is pending (the abandoned socket lives on and feeds replies into the new one's queue).
  let connecting: Promise<unknown> | undefined;

  const check = async () => {
    if (client.isOpen) {
      // Open but not ready: connecting (ours, or node-redis's after a dropped connection). Commands fail at once
      // meanwhile (no offline queue); against a frozen server it waits for its handshake until the server answers.
      if (!client.isReady) return;
      if (await pings(client, options.timeoutMs)) return setUp();
      if (loop.stopped()) return;
      setDown(`Redis did not answer a PING within ${options.timeoutMs} ms`);
      // Ready, so no connection attempt is pending: safe to close. The commands in flight fail with it.
      await client.disconnect().catch(() => undefined);
      return;
    }
    if (connecting || loop.stopped()) return;
    connecting = client
      .connect()
      .catch((error: unknown) =>
        setDown(`Redis is not answering: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        connecting = undefined;
      });
  };
  const loop = repeat(check, options.intervalMs);
  return { health, stop: loop.stop };
}
