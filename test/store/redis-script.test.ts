// Lua scripts through node-redis's script support, on the test run's real Redis 8.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defineLuaScript } from "../../src/store/redis-script.ts";
import { dropKeys, useRedisClients } from "../helpers/redis.ts";

const redis = useRedisClients();
const sumKeys = defineLuaScript(`
local total = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do total = total + tonumber(redis.call('GET', key) or '0') end
return total
`);

describe("defineLuaScript", () => {
  it("passes any number of keys and the arguments, and runs again after the server has forgotten it", async () => {
    const { client } = redis;
    const prefix = `test:script:${randomUUID().slice(0, 8)}`;
    await client.mSet([`${prefix}:a`, "2", `${prefix}:b`, "3"]);
    expect(await sumKeys.run(client, [], ["1"])).toBe(1);
    expect(await sumKeys.run(client, [`${prefix}:a`], ["1"])).toBe(3);
    await client.scriptFlush();
    expect(await sumKeys.run(client, [`${prefix}:a`, `${prefix}:b`], ["1"])).toBe(6);
    await dropKeys(client, prefix);
  });
});
