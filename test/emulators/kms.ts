// A local AWS KMS for envelope encryption (GenerateDataKey, Decrypt), speaking the real wire protocol (awsJson1_1:
// POST /, X-Amz-Target TrentService.<Operation>, blobs as base64), so that the real AWS SDK runs unchanged against
// it; production code reaches it only through the SDK's endpoint setting (AWS_ENDPOINT_URL_KMS).
// Real ciphertext blobs are opaque; this one's are its own: the data key sealed with AES-256-GCM under a secret
// each key holds, the key's id and the encryption context authenticated, so that a changed blob or context fails
// as KMS fails. It answers with KMS's errors (wrong key, disabled, not found, denied, throttling, 500s), records
// every request, and checks only that a request is signed with SigV4 for kms, not the signature.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorReply, readJsonRequest, replyError, replyJson } from "./aws-json.ts";
import { HttpEmulator } from "./loopback.ts";

const TARGET = "TrentService.";
export const KMS_ACCOUNT = "111122223333";
/** A blob's first byte: this emulator's format, version 1. */
const BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface KmsRequest {
  operation: string;
  body: {
    KeyId?: string;
    KeySpec?: string;
    NumberOfBytes?: number;
    EncryptionContext?: Record<string, string>;
    CiphertextBlob?: string;
    EncryptionAlgorithm?: string;
    DryRun?: boolean;
  };
}

export interface KmsFault {
  status: number;
  type: string;
  message: string;
}

export const THROTTLING: KmsFault = {
  status: 400,
  type: "ThrottlingException",
  message: "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
};
export const INTERNAL: KmsFault = {
  status: 500,
  type: "KMSInternalException",
  message: "An internal error occurred. Retry your request.",
};

/** A symmetric encryption key as the emulator holds it. */
export interface KmsKey {
  id: string;
  arn: string;
  /** What its blobs are sealed with; never leaves the emulator. */
  secret: Buffer;
  enabled: boolean;
  /** Every call with this key answers AccessDeniedException, as for a key whose policy leaves the caller out. */
  denied: boolean;
}

export class KmsEmulator extends HttpEmulator {
  readonly requests: KmsRequest[] = [];
  /** Errors to answer with, one request each, before answering normally again. */
  readonly faults: KmsFault[] = [];
  private readonly keys = new Map<string, KmsKey>();
  /** Alias name (`alias/…`) → key id. */
  private readonly aliases = new Map<string, string>();

  constructor(readonly region = "us-east-1") {
    super();
  }

  /** Forgets requests and faults; keys and aliases stay. */
  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  /** A new enabled symmetric key (SYMMETRIC_DEFAULT), as CreateKey makes one; returns its ARN. */
  createKey(options: { alias?: string } = {}): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:${this.region}:${KMS_ACCOUNT}:key/${id}`;
    this.keys.set(id, { id, arn, secret: randomBytes(32), enabled: true, denied: false });
    if (options.alias) this.createAlias(options.alias, id);
    return arn;
  }

  /** Points `alias/<name>` at a key (id, ARN or another alias), as CreateAlias and UpdateAlias do. */
  createAlias(alias: string, keyId: string): string {
    if (!alias.startsWith("alias/") || alias.startsWith("alias/aws/"))
      throw new Error(`an alias name starts with alias/ (and not alias/aws/): ${alias}`);
    this.aliases.set(alias, this.resolve(keyId).id);
    return `arn:aws:kms:${this.region}:${KMS_ACCOUNT}:${alias}`;
  }

  /** DisableKey (false) and EnableKey (true). */
  setEnabled(keyId: string, enabled: boolean): void {
    this.resolve(keyId).enabled = enabled;
  }

  /** Leaves the caller out of a key's policy: every call with it is denied. */
  deny(keyId: string, denied = true): void {
    this.resolve(keyId).denied = denied;
  }

  /** The key a KeyId names: key id, key ARN, alias name or alias ARN of this region and account. */
  resolve(keyId: string): KmsKey {
    const prefix = `arn:aws:kms:${this.region}:${KMS_ACCOUNT}:`;
    const isArn = keyId.startsWith("arn:");
    if (isArn && !keyId.startsWith(prefix)) throw notFound(keyId);
    const name = isArn ? keyId.slice(prefix.length) : keyId;
    if (name.startsWith("alias/")) {
      const id = this.aliases.get(name);
      if (!id) throw new ErrorReply(400, "NotFoundException", `Alias ${prefix}${name} is not found.`);
      return this.keys.get(id) as KmsKey;
    }
    const key = this.keys.get(isArn ? (name.startsWith("key/") ? name.slice(4) : "") : name);
    if (!key) throw notFound(isArn ? keyId : `${prefix}key/${keyId}`);
    return key;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse) {
    const { target, operation, body: parsed } = await readJsonRequest(req, TARGET);
    try {
      if (parsed === undefined) throw new ErrorReply(400, "SerializationException", "expected a JSON body");
      const body = parsed as KmsRequest["body"];
      this.requests.push({ operation, body });
      if (
        !/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/kms\/aws4_request/.test(
          String(req.headers.authorization),
        )
      )
        throw new ErrorReply(400, "MissingAuthenticationTokenException", "Missing Authentication Token");
      if (
        req.method !== "POST" ||
        req.url !== "/" ||
        !String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1")
      )
        throw new ErrorReply(400, "UnknownOperationException", `no such operation: ${req.method} ${target}`);
      const fault = this.faults.shift();
      if (fault) throw new ErrorReply(fault.status, fault.type, fault.message);
      if (operation === "GenerateDataKey") replyJson(res, 200, this.generateDataKey(body));
      else if (operation === "Decrypt") replyJson(res, 200, this.decrypt(body));
      else throw new ErrorReply(400, "UnknownOperationException", `no such operation: ${target}`);
    } catch (caught) {
      // KMS's errors are `{"__type": …, "message": …}`, with no message at all for InvalidCiphertextException.
      replyError(res, caught, "KMSInternalException", (error) => ({
        __type: error.type,
        ...(error.message ? { message: error.message } : {}),
      }));
    }
  }

  private generateDataKey({ KeyId, KeySpec, NumberOfBytes, EncryptionContext, DryRun }: KmsRequest["body"]) {
    const key = this.usable(required(KeyId, "keyId"), "kms:GenerateDataKey");
    if ((KeySpec === undefined) === (NumberOfBytes === undefined))
      throw new ErrorReply(400, "ValidationException", "Please specify either number of bytes or key spec.");
    if (KeySpec !== undefined && KeySpec !== "AES_256" && KeySpec !== "AES_128")
      throw invalid("keySpec", KeySpec, "Member must satisfy enum value set: [AES_256, AES_128]");
    if (
      NumberOfBytes !== undefined &&
      !(Number.isInteger(NumberOfBytes) && NumberOfBytes >= 1 && NumberOfBytes <= 1024)
    )
      throw invalid("numberOfBytes", NumberOfBytes, "Member must have value between 1 and 1024");
    const context = contextOf(EncryptionContext);
    if (DryRun) throw dryRun();
    const plaintext = randomBytes(NumberOfBytes ?? (KeySpec === "AES_128" ? 16 : 32));
    return {
      CiphertextBlob: seal(key, plaintext, context).toString("base64"),
      Plaintext: plaintext.toString("base64"),
      KeyId: key.arn,
    };
  }

  private decrypt({
    CiphertextBlob,
    KeyId,
    EncryptionContext,
    EncryptionAlgorithm,
    DryRun,
  }: KmsRequest["body"]) {
    const blob = Buffer.from(required(CiphertextBlob, "ciphertextBlob"), "base64");
    if (EncryptionAlgorithm !== undefined && EncryptionAlgorithm !== "SYMMETRIC_DEFAULT")
      throw new ErrorReply(
        400,
        "InvalidKeyUsageException",
        `${EncryptionAlgorithm} is not a supported encryption algorithm for this KMS key.`,
      );
    const context = contextOf(EncryptionContext);
    const parsed = parseBlob(blob);
    // A symmetric blob names its key; a KeyId in the request only asserts which key that must be.
    const asked = KeyId === undefined ? undefined : this.resolve(KeyId);
    const key = this.keys.get(parsed.keyId);
    if (!key) throw notFound(`arn:aws:kms:${this.region}:${KMS_ACCOUNT}:key/${parsed.keyId}`);
    if (asked && asked.id !== key.id)
      throw new ErrorReply(
        400,
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
      );
    this.usable(key.id, "kms:Decrypt");
    const plaintext = open(key, parsed, context);
    if (DryRun) throw dryRun();
    return {
      KeyId: key.arn,
      Plaintext: plaintext.toString("base64"),
      EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
    };
  }

  /** The key, if the caller may use it for `action` and it is enabled. */
  private usable(keyId: string, action: string): KmsKey {
    const key = this.resolve(keyId);
    if (key.denied)
      throw new ErrorReply(
        400,
        "AccessDeniedException",
        `User: arn:aws:sts::${KMS_ACCOUNT}:assumed-role/counsel-task/test is not authorized to perform: ` +
          `${action} on resource: ${key.arn} because no resource-based policy allows the ${action} action`,
      );
    if (!key.enabled) throw new ErrorReply(400, "DisabledException", `${key.arn} is disabled.`);
    return key;
  }
}

interface ParsedBlob {
  keyId: string;
  iv: Buffer;
  sealed: Buffer;
  tag: Buffer;
}

// The blob: version, the key id's length and bytes, the IV, the sealed data key, the GCM tag. The key id and
// the canonical context are the additional authenticated data, so neither can be swapped without failing.
function seal(key: KmsKey, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.secret, iv);
  cipher.setAAD(aadOf(key.id, context));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const id = Buffer.from(key.id, "utf8");
  return Buffer.concat([Buffer.from([BLOB_VERSION, id.length]), id, iv, sealed, cipher.getAuthTag()]);
}

function parseBlob(blob: Buffer): ParsedBlob {
  const idLength = blob[1] ?? 0;
  const ivAt = 2 + idLength;
  if (blob[0] !== BLOB_VERSION || blob.length < ivAt + IV_BYTES + TAG_BYTES + 1)
    throw new ErrorReply(400, "InvalidCiphertextException");
  return {
    keyId: blob.subarray(2, ivAt).toString("utf8"),
    iv: blob.subarray(ivAt, ivAt + IV_BYTES),
    sealed: blob.subarray(ivAt + IV_BYTES, blob.length - TAG_BYTES),
    tag: blob.subarray(blob.length - TAG_BYTES),
  };
}

function open(key: KmsKey, blob: ParsedBlob, context: string): Buffer {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.secret, blob.iv);
    decipher.setAAD(aadOf(key.id, context));
    decipher.setAuthTag(blob.tag);
    return Buffer.concat([decipher.update(blob.sealed), decipher.final()]);
  } catch (error) {
    throw new ErrorReply(400, "InvalidCiphertextException", undefined, { cause: error });
  }
}

function aadOf(keyId: string, context: string): Buffer {
  return Buffer.from(`${keyId}\n${context}`, "utf8");
}

/** The context as KMS compares it: an exact, case-sensitive match of the pairs, whatever their order. */
function contextOf(context: unknown): string {
  if (context === undefined) return "{}";
  if (
    typeof context !== "object" ||
    context === null ||
    Object.values(context).some((v) => typeof v !== "string")
  )
    throw new ErrorReply(400, "SerializationException", "EncryptionContext: expected a map of strings");
  const pairs = Object.entries(context as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return JSON.stringify(pairs);
}

function required<T>(value: T | undefined, member: string): T {
  if (value === undefined || value === null) throw invalid(member, null, "Member must not be null");
  return value;
}

function invalid(member: string, value: unknown, constraint: string): ErrorReply {
  return new ErrorReply(
    400,
    "ValidationException",
    `1 validation error detected: Value ${value === null ? "null" : `'${value}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

function notFound(arn: string): ErrorReply {
  return new ErrorReply(400, "NotFoundException", `Key '${arn}' does not exist`);
}

function dryRun(): ErrorReply {
  return new ErrorReply(
    400,
    "DryRunOperationException",
    "The request would have succeeded, but the DryRun option is set.",
  );
}
