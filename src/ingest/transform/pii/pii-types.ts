// The kinds of personal data the offline recognisers find. Apart from them (recognisers.ts) so that recipes and
// chain configs can name them without loading the recognisers, which import LangChain's detectors.

export const PII_TYPES = [
  "email",
  "phone",
  "credit_card",
  "iban",
  "us_ssn",
  "ip_address",
  "aws_access_key",
  "aws_secret_key",
] as const;

export type PiiType = (typeof PII_TYPES)[number];
