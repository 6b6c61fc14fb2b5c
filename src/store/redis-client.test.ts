import { describe, expect, it } from "vitest";
import { isRedisUnavailable } from "../errors.ts";
import { redactUrl } from "./redis-client.ts";

describe("isRedisUnavailable", () => {
  it("recognises the ways a command fails while the server is unreachable", () => {
    expect(isRedisUnavailable(new Error("connect ECONNREFUSED 127.0.0.1:6379"))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBe(true);
    expect(isRedisUnavailable(new Error("The client is offline"))).toBe(true);
    expect(isRedisUnavailable(new Error("Socket closed unexpectedly"))).toBe(true);
    expect(isRedisUnavailable(new Error("The client is closed"))).toBe(true);
  });

  it("leaves other errors alone, so that they are not hidden behind a 503", () => {
    expect(
      isRedisUnavailable(new Error("WRONGTYPE Operation against a key holding the wrong kind of value")),
    ).toBe(false);
    expect(isRedisUnavailable("ECONNREFUSED")).toBe(false);
  });
});

describe("redactUrl", () => {
  it("hides the password", () => {
    expect(redactUrl("redis://user:secret@host:6379")).toBe("redis://user:***@host:6379");
  });
});
