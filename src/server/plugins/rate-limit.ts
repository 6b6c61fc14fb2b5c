// Requests per client per minute (@fastify/rate-limit), counted in Redis when the service has it, so that every
// process behind a load balancer shares one count; in process memory otherwise. A client is its API key (the
// auth plugin runs first) when it has one, else its address. Health and metrics probes are never limited.
import rateLimit, { type FastifyRateLimitOptions, type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { PROBE_PATHS } from "../../contracts/probe-paths.ts";
import { CounselError } from "../../errors.ts";
import type { RedisClient } from "../../store/redis-client.ts";

export interface RateLimitOptions {
  /** Requests per client per window; 0 turns the limit off. */
  max: number;
  windowMs: number;
  redis?: RedisClient;
  prefix?: string;
}

export function clientKey(request: FastifyRequest): string {
  const keyId = request.principal?.keyId;
  return keyId ? `key:${keyId}` : `ip:${request.ip}`;
}

export const rateLimitPlugin = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    if (options.max <= 0) return;
    await app.register(rateLimit, {
      max: options.max,
      timeWindow: options.windowMs,
      keyGenerator: clientKey,
      allowList: (request) => PROBE_PATHS.has(request.url.split("?")[0]),
      // A Redis outage must not lock every client out: requests then go through uncounted.
      skipOnError: true,
      ...(options.redis ? { store: redisStore(options.redis, options.prefix ?? "ratelimit") } : {}),
      errorResponseBuilder: (_request, context) =>
        new CounselError(
          "rate_limited",
          429,
          `Too many requests: at most ${context.max} a minute; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        ),
    });
  },
  { name: "counsel-rate-limit" },
);

/**
 * The plugin's own Redis store speaks ioredis; Counsel's client is node-redis, so this is the same fixed-window
 * count in one MULTI: the first request of a window starts its expiry (PEXPIRE NX), the others only count.
 */
function redisStore(client: RedisClient, prefix: string): FastifyRateLimitStoreCtor {
  return class NodeRedisStore {
    // The plugin always passes the window in milliseconds.
    private readonly window: number;
    constructor(private readonly options: FastifyRateLimitOptions) {
      this.window = Number((options as { timeWindow?: unknown }).timeWindow);
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void) {
      const redisKey = `${prefix}:${key}`;
      client
        .multi()
        .incr(redisKey)
        .pExpire(redisKey, this.window, "NX")
        .pTTL(redisKey)
        .exec()
        .then((replies) => {
          const current = Number(replies[0]);
          const ttl = Number(replies[2]);
          callback(null, { current, ttl: ttl > 0 ? ttl : this.window });
        })
        .catch((error: Error) => callback(error));
    }

    child(routeOptions: FastifyRateLimitOptions) {
      return new NodeRedisStore({ ...this.options, ...routeOptions });
    }
  };
}
