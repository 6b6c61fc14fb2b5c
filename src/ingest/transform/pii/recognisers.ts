// Offline recognisers of personal data and secrets in text. Hand-written regular expressions with checksums:
// no maintained JavaScript library recognises these types offline with their check digits (LangChain's
// piiMiddleware detectors cover email, credit card, IPv4, MAC and URL for chat messages). Its detectEmail
// and detectIP (IPv4 with octets up to 255) are as good as ours would be and are reused; its
// detectCreditCard takes only four groups of four digits, so 13-19 digit cards are recognised here.
import { isIPv6 } from "node:net";
import { detectEmail, detectIP } from "langchain";
import { ibanValid, luhnValid } from "./checksums.ts";
import type { PiiType } from "./pii-types.ts";

/** Where a value was found: `text.slice(start, end)`. */
export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
}

type Recogniser = (text: string) => { start: number; end: number }[];

function matches(pattern: RegExp, text: string, accept: (value: string) => boolean = () => true) {
  const found: { start: number; end: number }[] = [];
  for (const match of text.matchAll(pattern)) {
    if (accept(match[0])) found.push({ start: match.index, end: match.index + match[0].length });
  }
  return found;
}

const digitCount = (value: string) => value.replace(/\D/g, "").length;

// International: a + and the country code, then groups. National: North American 3-3-4 (with or without
// parentheses), and trunk-prefixed numbers (0 then groups, as in 020 7946 0958 or 01 23 45 67 89). Separators
// are required, so plain long numbers are not phones; dates (4-2-2, 2-2-4) and versions (1.2.3) have too few
// digits or the wrong grouping.
const INTERNATIONAL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w-])/g;
const NORTH_AMERICAN = /(?<![\w.-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|\.\d)/g;
const TRUNK = /(?<![\w.-])0\d{1,4}(?:[ -]\d{2,4}){2,4}(?![\w-]|\.\d)/g;

function phones(text: string) {
  return [
    ...matches(INTERNATIONAL, text, (value) => digitCount(value) >= 8 && digitCount(value) <= 15),
    ...matches(NORTH_AMERICAN, text),
    ...matches(TRUNK, text, (value) => digitCount(value) >= 9 && digitCount(value) <= 11),
  ];
}

// 13-19 digits, optionally in groups split by single spaces or dashes, that pass the Luhn check.
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;

// Two letters, two check digits, then groups (of four when printed); a trailing word in capitals may be
// caught with it, so on a failed check the last group is dropped and the rest checked again.
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b/g;

function ibans(text: string) {
  const found: { start: number; end: number }[] = [];
  for (const match of text.matchAll(IBAN)) {
    let value = match[0];
    while (value.replace(/ /g, "").length >= 15) {
      if (ibanValid(value.replace(/ /g, ""))) {
        found.push({ start: match.index, end: match.index + value.length });
        break;
      }
      const cut = value.lastIndexOf(" ");
      if (cut < 0) break;
      value = value.slice(0, cut);
    }
  }
  return found;
}

// Area 001-899 but not 666, group 01-99, serial 0001-9999; dashes required (nine bare digits are anything).
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;

// A run of hex digits, colons and dots: IPv6 only when node:net says so, with at least two groups written.
const IPV6_CANDIDATE = /(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?![\w:.])/g;

function ipAddresses(text: string) {
  const found = detectIP(text).map(({ start, end }) => ({ start, end }));
  for (const match of text.matchAll(IPV6_CANDIDATE)) {
    // A full stop after the address ends the sentence.
    const value = match[0].replace(/\.+$/, "");
    if (isIPv6(value) && value.split(":").filter(Boolean).length >= 2) {
      found.push({ start: match.index, end: match.index + value.length });
    }
  }
  return found;
}

const ACCESS_KEY = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

// Forty base64 characters are common (hashes, tokens): only a value near a hint that it is an AWS secret,
// with capitals and small letters (a hex digest has no capitals), is taken.
const SECRET = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const SECRET_HINT = /secret|aws_secret_access_key|secretaccesskey/i;
const HINT_WINDOW = 80;

function awsSecrets(text: string) {
  const found: { start: number; end: number }[] = [];
  for (const match of text.matchAll(SECRET)) {
    const value = match[0];
    if (!/[A-Z]/.test(value) || !/[a-z]/.test(value) || !/\d/.test(value)) continue;
    if (!SECRET_HINT.test(text.slice(Math.max(0, match.index - HINT_WINDOW), match.index))) continue;
    found.push({ start: match.index, end: match.index + value.length });
  }
  return found;
}

export const RECOGNISERS: Record<PiiType, Recogniser> = {
  email: detectEmail,
  phone: phones,
  credit_card: (text) => matches(CARD, text, (value) => luhnValid(value.replace(/\D/g, ""))),
  iban: ibans,
  us_ssn: (text) => matches(SSN, text),
  ip_address: ipAddresses,
  aws_access_key: (text) => matches(ACCESS_KEY, text),
  aws_secret_key: awsSecrets,
};

// When two findings overlap, the more specific wins: checksummed and keyed types before phone numbers.
const PRECEDENCE: PiiType[] = [
  "aws_secret_key",
  "aws_access_key",
  "email",
  "iban",
  "credit_card",
  "us_ssn",
  "ip_address",
  "phone",
];

/** Every value of the given types in `text`, in order and without overlaps. */
export function recognise(text: string, types: readonly PiiType[]): PiiSpan[] {
  const taken: PiiSpan[] = [];
  for (const type of PRECEDENCE) {
    if (!types.includes(type)) continue;
    for (const { start, end } of RECOGNISERS[type](text)) {
      if (taken.some((span) => start < span.end && span.start < end)) continue;
      taken.push({ type, start, end });
    }
  }
  return taken.sort((a, b) => a.start - b.start);
}
