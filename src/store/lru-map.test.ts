import { describe, expect, it } from "vitest";
import { LruMap } from "./lru-map.ts";

describe("LruMap", () => {
  it("drops the least recently used entry when full, counting reads as use", () => {
    const map = new LruMap<string, number>({ maxSize: 2 });
    map.set("a", 1).set("b", 2);
    expect(map.get("a")).toBe(1);
    map.set("c", 3);
    expect([...map.keys()]).toEqual(["a", "c"]);
    expect(map.get("b")).toBeUndefined();
    expect(map.size).toBe(2);
  });

  it("treats entries not set again within maxAgeMs as absent", () => {
    let now = 0;
    const map = new LruMap<string, number>({ maxSize: 10, maxAgeMs: 100, now: () => now });
    map.set("a", 1).set("b", 2);
    now = 60;
    map.set("b", 2);
    now = 120;
    expect(map.has("a")).toBe(false);
    expect(map.get("b")).toBe(2);
    expect(map.size).toBe(1);
    now = 200;
    expect(map.get("b")).toBeUndefined();
  });

  it("refuses a size that would keep nothing", () => {
    expect(() => new LruMap({ maxSize: 0 })).toThrow(RangeError);
  });
});
