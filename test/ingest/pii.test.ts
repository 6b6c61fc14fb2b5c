// The offline PII engine: each recogniser finds the values it should and leaves look-alikes (dates, versions,
// long numbers, failed checksums, hex digests) alone; redaction masks or hashes them.
import { describe, expect, it } from "vitest";
import { ibanValid, luhnValid } from "../../src/ingest/transform/pii/checksums.ts";
import type { PiiType } from "../../src/ingest/transform/pii/pii-types.ts";
import { recognise } from "../../src/ingest/transform/pii/recognisers.ts";
import { type PiiRedaction, redactorFor } from "../../src/ingest/transform/pii/redact.ts";

const redactText = (
  text: string,
  redaction: Omit<Extract<PiiRedaction, { engine: "offline" }>, "engine">,
  hashKey?: string,
) => redactorFor({ engine: "offline", ...redaction }, { hashKey }).text(text);

/** The values of one type found in `text`. */
function found(type: PiiType, text: string): string[] {
  return recognise(text, [type]).map((span) => text.slice(span.start, span.end));
}

describe("checksums", () => {
  it("Luhn accepts real test card numbers and refuses a changed digit", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("378282246310005")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
  });
  it("mod 97 accepts real IBANs and refuses a changed digit", () => {
    expect(ibanValid("DE89370400440532013000")).toBe(true);
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("DE89370400440532013001")).toBe(false);
  });
});

describe("recognisers", () => {
  it("email", () => {
    expect(found("email", "write to jane.doe+kb@example.co.uk today")).toEqual(["jane.doe+kb@example.co.uk"]);
    expect(found("email", "jane at example dot com, @handle, a@b")).toEqual([]);
  });

  it("phone: international and national formats, not dates, versions or plain numbers", () => {
    const text =
      "Call +44 20 7946 0958, +1 (555) 123-4567, +33 1 23 45 67 89, (555) 123-4567, 555.123.4567, " +
      "020 7946 0958 or 01 23 45 67 89.";
    expect(found("phone", text)).toEqual([
      "+44 20 7946 0958",
      "+1 (555) 123-4567",
      "+33 1 23 45 67 89",
      "(555) 123-4567",
      "555.123.4567",
      "020 7946 0958",
      "01 23 45 67 89",
    ]);
    expect(
      found(
        "phone",
        "On 2024-01-15 and 15.01.2024 v1.2.3 shipped; order 12345678901; 3.14159; 10:30-11:45; +5",
      ),
    ).toEqual([]);
  });

  it("credit card: 13 to 19 digits with spaces or dashes, Luhn-checked", () => {
    expect(
      found(
        "credit_card",
        "Visa 4111 1111 1111 1111, 4111-1111-1111-1111, Amex 3782 822463 10005, 4222222222222.",
      ),
    ).toEqual(["4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", "4222222222222"]);
    expect(
      found("credit_card", "4111 1111 1111 1112, order 1234567890123, id 12345678901234567890123"),
    ).toEqual([]);
  });

  it("IBAN: printed in groups or not, mod-97 checked, without the word after it", () => {
    expect(
      found("iban", "Pay DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX or GB82WEST12345698765432."),
    ).toEqual(["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]);
    expect(found("iban", "DE89 3704 0044 0532 0130 01, ISO 9001 AB12 CDEF GHIJ KLMN")).toEqual([]);
  });

  it("US SSN: not the invalid areas, groups or serials", () => {
    expect(found("us_ssn", "SSN 123-45-6789 and 078-05-1120")).toEqual(["123-45-6789", "078-05-1120"]);
    expect(
      found("us_ssn", "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 123456789 1-123-45-6789"),
    ).toEqual([]);
  });

  it("IP addresses: IPv4 with valid octets and IPv6", () => {
    expect(found("ip_address", "hosts 192.168.1.20, 2001:db8::8a2e:370:7334 and fe80::1.")).toEqual([
      "192.168.1.20",
      "2001:db8::8a2e:370:7334",
      "fe80::1",
    ]);
    expect(found("ip_address", "256.1.1.1, 999.1.1.1, v1.2.3, at 12:30:45, std::vector, a:b, ::")).toEqual(
      [],
    );
  });

  it("AWS access key ids", () => {
    expect(found("aws_access_key", "key AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A")).toEqual([
      "AKIAIOSFODNN7EXAMPLE",
      "ASIAY34FZKBOKMUTVV7A",
    ]);
    expect(found("aws_access_key", "AKIA1234, XAKIAIOSFODNN7EXAMPLE, akiaiosfodnn7example")).toEqual([]);
  });

  it("AWS secret keys only near a hint, and not hex digests", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    expect(found("aws_secret_key", `aws_secret_access_key = ${secret}`)).toEqual([secret]);
    expect(found("aws_secret_key", `The client secret is "${secret}".`)).toEqual([secret]);
    expect(found("aws_secret_key", `token ${secret}`)).toEqual([]);
    expect(found("aws_secret_key", "secret sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")).toEqual([]);
  });
});

describe("offline redaction", () => {
  const all = {
    types: ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address"] as PiiType[],
    strategy: "mask" as const,
  };

  it("masks each value with its type, leaving the rest of the text as it was", async () => {
    expect(await redactText("Mail jane@example.com or call +44 20 7946 0958 from 10.0.0.1.", all)).toBe(
      "Mail [EMAIL] or call [PHONE] from [IP_ADDRESS].",
    );
  });

  it("masks only the types asked for", async () => {
    expect(await redactText("jane@example.com, 123-45-6789", { types: ["us_ssn"], strategy: "mask" })).toBe(
      "jane@example.com, [US_SSN]",
    );
  });

  it("hashes with the key: equal values (whatever their spacing or case) equal, others and other keys not", async () => {
    const hash = { ...all, strategy: "hash" as const };
    const text =
      "Jane@Example.com; jane@example.com; bob@example.com; 4111 1111 1111 1111; 4111-1111-1111-1111";
    const out = await redactText(text, hash, "a-key-of-sixteen-chars");
    const tags = out.split("; ");
    expect(tags[0]).toMatch(/^\[EMAIL:[0-9a-f]{8}\]$/);
    expect(tags[1]).toBe(tags[0]);
    expect(tags[2]).not.toBe(tags[0]);
    expect(tags[3]).toMatch(/^\[CREDIT_CARD:[0-9a-f]{8}\]$/);
    expect(tags[4]).toBe(tags[3]);
    expect(await redactText(text, hash, "another-key-of-16-chars")).not.toBe(out);
    expect(() => redactText(text, hash)).toThrow(/PII_HASH_KEY/);
  });
});
