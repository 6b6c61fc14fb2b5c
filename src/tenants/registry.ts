// The one place that keeps something open per tenant: opened on a tenant's first use (once, even when its first
// requests arrive together), kept while in use, evicted on demand, and closed all together at shutdown.
import { isTenantId } from "./tenant-id.ts";

export interface TenantRegistryOptions<T> {
  /** Opens a tenant's value; a failed open is forgotten, so that the next use tries again. */
  open(tenant: string): Promise<T>;
  /** Releases a tenant's value (saves what is pending); called by `evict` and `close`. */
  close?(value: T): Promise<void>;
}

/**
 * @example
 * const tenants = new TenantRegistry({ open: openTenant, close: (t) => t.close() });
 * const acme = await tenants.get("acme"); // opened now
 * await tenants.get("acme");              // the same object, not opened again
 * await tenants.close();                  // every opened tenant closed
 */
export class TenantRegistry<T> {
  private readonly opened = new Map<string, Promise<T>>();

  constructor(private readonly options: TenantRegistryOptions<T>) {}

  get(tenant: string): Promise<T> {
    if (!isTenantId(tenant)) return Promise.reject(new Error(`Invalid tenant id ${JSON.stringify(tenant)}`));
    let value = this.opened.get(tenant);
    if (!value) {
      value = this.options.open(tenant);
      this.opened.set(tenant, value);
      value.catch(() => {
        if (this.opened.get(tenant) === value) this.opened.delete(tenant);
      });
    }
    return value;
  }

  /** The tenants opened so far, those that failed to open left out. */
  async all(): Promise<T[]> {
    const settled = await Promise.allSettled(this.opened.values());
    return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  }

  /** Closes one tenant's value; its next use opens it afresh. */
  async evict(tenant: string): Promise<void> {
    const value = this.opened.get(tenant);
    if (!value) return;
    this.opened.delete(tenant);
    const opened = await value.catch(() => undefined);
    if (opened !== undefined) await this.options.close?.(opened);
  }

  /** Closes every opened tenant's value, one after another. */
  async close(): Promise<void> {
    for (const tenant of [...this.opened.keys()]) await this.evict(tenant);
  }
}
