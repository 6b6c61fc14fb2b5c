import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "./settings.ts";

describe("URL_ALLOW_ADDRESSES", () => {
  it.each(["10.20.0.0/16,192.168.1.10", "fd00::/8", " 10.0.0.1 , 172.16.0.0/12 "])("takes %j", (value) => {
    expect(loadSettings({ URL_ALLOW_ADDRESSES: value }).urls.allow.length).toBeGreaterThan(0);
  });

  it.each(["10.0.0.0/33", "10.1", "::1/129", "1.2.3.4/x", "10.0.0.0/8/8", "intranet.local"])(
    "stops the start on %j, naming the variable",
    (value) => {
      expect(() => loadSettings({ URL_ALLOW_ADDRESSES: value })).toThrow(SettingsError);
      expect(() => loadSettings({ URL_ALLOW_ADDRESSES: value })).toThrow(/URL_ALLOW_ADDRESSES/);
    },
  );
});
