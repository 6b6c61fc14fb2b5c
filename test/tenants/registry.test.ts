import { describe, expect, it } from "vitest";
import { TenantRegistry } from "../../src/tenants/registry.ts";

/** A registry over plain objects that counts how often each tenant was opened and closed. */
function countingRegistry(open?: (tenant: string, attempt: number) => Promise<void>) {
  const opened: string[] = [];
  const closed: string[] = [];
  const registry = new TenantRegistry<{ id: string; n: number }>({
    open: async (tenant) => {
      opened.push(tenant);
      await open?.(tenant, opened.filter((t) => t === tenant).length);
      return { id: tenant, n: opened.length };
    },
    close: async (value) => {
      closed.push(value.id);
    },
  });
  return { registry, opened, closed };
}

describe("TenantRegistry", () => {
  it("opens a tenant once, even when its first uses arrive together", async () => {
    const { registry, opened } = countingRegistry(() => new Promise((resolve) => setTimeout(resolve, 10)));
    const [a, b, c] = await Promise.all([registry.get("acme"), registry.get("acme"), registry.get("acme")]);
    expect(opened).toEqual(["acme"]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await registry.get("globex")).not.toBe(a);
    expect(opened).toEqual(["acme", "globex"]);
  });

  it("forgets a failed open, so that the next use tries again", async () => {
    const { registry, opened } = countingRegistry(async (_tenant, attempt) => {
      if (attempt === 1) throw new Error("Redis is unreachable");
    });
    await expect(registry.get("acme")).rejects.toThrow("Redis is unreachable");
    expect(await registry.all()).toEqual([]);
    const value = await registry.get("acme");
    expect(value.id).toBe("acme");
    expect(opened).toEqual(["acme", "acme"]);
  });

  it("refuses an id that is not a tenant id, opening nothing", async () => {
    const { registry, opened } = countingRegistry();
    for (const id of ["", "Acme", "../etc", "a".repeat(65), "acme:x"])
      await expect(registry.get(id)).rejects.toThrow(/Invalid tenant id/);
    expect(opened).toEqual([]);
  });

  it("closes an evicted tenant, and opens it afresh on its next use", async () => {
    const { registry, opened, closed } = countingRegistry();
    const first = await registry.get("acme");
    await registry.evict("acme");
    expect(closed).toEqual(["acme"]);
    const second = await registry.get("acme");
    expect(second).not.toBe(first);
    expect(opened).toEqual(["acme", "acme"]);
    await registry.evict("never-opened"); // nothing to close
    expect(closed).toEqual(["acme"]);
  });

  it("closes every opened tenant once, leaving out those that failed to open", async () => {
    const { registry, closed } = countingRegistry(async (tenant) => {
      if (tenant === "broken") throw new Error("cannot open");
    });
    await registry.get("acme");
    await registry.get("globex");
    await registry.get("broken").catch(() => undefined);
    expect((await registry.all()).map((t) => t.id).sort()).toEqual(["acme", "globex"]);
    await registry.close();
    expect(closed.sort()).toEqual(["acme", "globex"]);
    expect(await registry.all()).toEqual([]);
  });
});
