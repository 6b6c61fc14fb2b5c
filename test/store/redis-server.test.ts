// The Redis that the test run starts is a real Redis 8 with vector sets.
import { createClient } from "redis";
import { expect, inject, it } from "vitest";

it("is a real Redis 8 with vector sets", async () => {
  const client = createClient({ url: inject("redisUrl") });
  await client.connect();
  try {
    const info = await client.info("server");
    expect(Number(info.match(/redis_version:(\d+)/)?.[1])).toBeGreaterThanOrEqual(8);
    expect(await client.sendCommand(["VADD", "test:probe", "VALUES", "2", "1", "0", "a"])).toBe(1);
    expect(await client.sendCommand(["VCARD", "test:probe"])).toBe(1);
  } finally {
    await client.del("test:probe");
    await client.quit();
  }
});
