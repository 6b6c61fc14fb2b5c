/**
 * What load balancers and scrapers call every few seconds: not rate-limited, not traced, and not counted as
 * traffic in the CloudWatch metrics (each route there is a billed metric).
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);
