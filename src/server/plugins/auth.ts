// Who is calling, and may they do this? Every request carries an API key (`Authorization: Bearer <key>` or
// `x-api-key: <key>`) that names a tenant and scopes; each route says which scopes may call it
// (`config: { scopes: [...] }`), and a route that says nothing needs `admin`, so that a route added without
// thought is closed rather than open. Probes and the API description are public. Without a keys file the
// service is open: every request is the default tenant with every scope (local use only; main says so loudly).
// The caller's tenant is resolved here, once per request, as `request.tenant`.
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { type KeyRing, type Principal, SCOPES, type Scope } from "../../auth/api-keys.ts";
import { CounselError } from "../../errors.ts";
import type { Tenant } from "../../tenants/tenant.ts";

export interface AuthOptions {
  /** The API keys; undefined runs the service open. */
  keys?: KeyRing;
  /** The tenant of every request when the service runs open. */
  openTenant: string;
  /** Opens (once) the tenant a caller belongs to. */
  tenant(id: string): Promise<Tenant>;
}

/** Routes any caller may reach: health probes, metrics for the scraper, the OpenAPI description. */
const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/docs(\/|$)/];

class Unauthorized extends CounselError {
  constructor(detail: string) {
    super("unauthorized", 401, detail);
  }
}

export function presentedKey(request: FastifyRequest): string | undefined {
  const bearer = request.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const header = request.headers["x-api-key"];
  return bearer ?? (typeof header === "string" && header ? header : undefined);
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthOptions) => {
    const open: Principal = { tenant: options.openTenant, scopes: new Set(SCOPES) };
    app.decorateRequest("principal", null);
    const tenants = new WeakMap<FastifyRequest, Tenant>();
    app.decorateRequest("tenant", {
      getter(this: FastifyRequest): Tenant {
        const tenant = tenants.get(this);
        if (!tenant) throw new Error(`Route ${this.routeOptions.url} reads a tenant but is public`);
        return tenant;
      },
    });

    app.addHook("onRequest", async (request, reply) => {
      const route = request.routeOptions.url;
      const config = request.routeOptions.config as { scopes?: Scope[] | "public" } | undefined;
      if (config?.scopes === "public" || (route && PUBLIC.some((p) => p.test(route)))) return;
      if (!options.keys) {
        request.principal = open;
        return;
      }
      const key = presentedKey(request);
      if (!key) {
        reply.header("www-authenticate", 'Bearer realm="counsel"');
        throw new Unauthorized("Send an API key: `Authorization: Bearer <key>` or `x-api-key: <key>`.");
      }
      const principal = options.keys.verify(key);
      if (!principal) {
        reply.header("www-authenticate", 'Bearer realm="counsel", error="invalid_token"');
        throw new Unauthorized("The API key is not valid: unknown, revoked or mistyped.");
      }
      request.principal = principal;
      // Every later log line of the request says whose it is (the key's id, never the key).
      request.log = reply.log = request.log.child({ tenant: principal.tenant, key: principal.keyId });
      // An unknown route is a 404 to anyone with a valid key; it needs no scope.
      if (request.is404) return;
      const needed = config?.scopes ?? ["admin"];
      if (!needed.some((scope) => principal.scopes.has(scope))) {
        throw new CounselError(
          "forbidden",
          403,
          `This key may not do that: it needs the scope ${needed.join(" or ")}, and has ${[...principal.scopes].join(", ")}.`,
        );
      }
    });

    // After the body is read and validated: a refused or malformed request never opens a tenant.
    app.addHook("preHandler", async (request) => {
      if (!request.principal || request.is404) return;
      tenants.set(request, await options.tenant(request.principal.tenant));
    });
  },
  { name: "counsel-auth" },
);

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** The caller's tenant: its knowledge base, runs, sessions and reports (routes that need a key only). */
    readonly tenant: Tenant;
  }
  interface FastifyContextConfig {
    /** Who may call the route: any of these scopes, or "public". Absent: admin only. */
    scopes?: Scope[] | "public";
  }
}
