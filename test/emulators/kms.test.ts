// The KMS emulator answers the real SDK as KMS does for envelope encryption: GenerateDataKey and Decrypt in their
// documented shapes, the encryption context bound to the blob, and KMS's errors under the SDK's own exception types.
import {
  DecryptCommand,
  DisabledException,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  NotFoundException,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { INTERNAL, KMS_ACCOUNT, KmsEmulator, THROTTLING } from "./kms.ts";

const CONTEXT = { "counsel:purpose": "data-dir", tenant: "acme" };

describe("KMS emulator", () => {
  const emulator = new KmsEmulator();
  let kms: KMSClient;
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await emulator.start();
    kms = client();
  });
  afterAll(async () => {
    kms.destroy();
    await emulator.stop();
  });
  beforeEach(() => emulator.reset());

  const client = (maxAttempts?: number) =>
    new KMSClient({
      region: "us-east-1",
      endpoint,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts,
    });
  const generate = (KeyId: string, EncryptionContext: Record<string, string> = CONTEXT) =>
    kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: "AES_256", EncryptionContext }));

  it.each(["id", "ARN", "alias", "alias ARN"] as const)(
    "wraps a data key that Decrypt gives back, the key named by its %s",
    async (form) => {
      const arn = emulator.createKey();
      const id = arn.split("/").at(-1) as string;
      const alias = `alias/counsel-${id.slice(0, 8)}`;
      const aliasArn = emulator.createAlias(alias, arn);
      const keyId = { id, ARN: arn, alias, "alias ARN": aliasArn }[form];

      const made = await generate(keyId);
      expect(made.KeyId).toBe(arn);
      expect(made.Plaintext).toHaveLength(32);
      expect(
        Buffer.from(made.CiphertextBlob as Uint8Array).includes(Buffer.from(made.Plaintext as Uint8Array)),
      ).toBe(false);

      const opened = await kms.send(
        new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, KeyId: keyId, EncryptionContext: CONTEXT }),
      );
      expect(opened).toMatchObject({ KeyId: arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" });
      expect(Buffer.from(opened.Plaintext as Uint8Array)).toEqual(Buffer.from(made.Plaintext as Uint8Array));
    },
  );

  it("decrypts without a KeyId, the blob naming its key, and takes the context's pairs in any order", async () => {
    const arn = emulator.createKey();
    const made = await generate(arn);
    const opened = await kms.send(
      new DecryptCommand({
        CiphertextBlob: made.CiphertextBlob,
        EncryptionContext: { tenant: "acme", "counsel:purpose": "data-dir" },
      }),
    );
    expect(opened.KeyId).toBe(arn);
  });

  it("sizes the key by KeySpec or NumberOfBytes, and refuses both or neither", async () => {
    const arn = emulator.createKey();
    const sized = async (input: { KeySpec?: "AES_128"; NumberOfBytes?: number }) =>
      (await kms.send(new GenerateDataKeyCommand({ KeyId: arn, ...input }))).Plaintext?.length;
    expect(await sized({ KeySpec: "AES_128" })).toBe(16);
    expect(await sized({ NumberOfBytes: 64 })).toBe(64);
    await expect(sized({})).rejects.toMatchObject({ name: "ValidationException" });
    await expect(sized({ KeySpec: "AES_128", NumberOfBytes: 16 })).rejects.toMatchObject({
      name: "ValidationException",
    });
    await expect(sized({ NumberOfBytes: 1025 })).rejects.toThrow(/between 1 and 1024/);
  });

  it.each([
    ["another value", { ...CONTEXT, tenant: "globex" }],
    ["a missing pair", { "counsel:purpose": "data-dir" }],
    ["an extra pair", { ...CONTEXT, extra: "x" }],
    ["a differently cased key", { "Counsel:purpose": "data-dir", tenant: "acme" }],
    ["no context", undefined],
  ])("refuses to decrypt under %s in the context (InvalidCiphertextException)", async (_, context) => {
    const made = await generate(emulator.createKey());
    const decrypt = kms.send(
      new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: context }),
    );
    await expect(decrypt).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it("refuses a blob changed by one bit, or cut short (InvalidCiphertextException)", async () => {
    const made = await generate(emulator.createKey());
    const blob = Buffer.from(made.CiphertextBlob as Uint8Array);
    for (const at of [blob.length - 1, blob.length - 20]) {
      const changed = Buffer.from(blob);
      changed[at] ^= 1;
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob: changed, EncryptionContext: CONTEXT })),
      ).rejects.toBeInstanceOf(InvalidCiphertextException);
    }
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, 20), EncryptionContext: CONTEXT })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it("answers IncorrectKeyException when the KeyId asked for is not the blob's key", async () => {
    const made = await generate(emulator.createKey());
    const other = emulator.createKey();
    await expect(
      kms.send(
        new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, KeyId: other, EncryptionContext: CONTEXT }),
      ),
    ).rejects.toBeInstanceOf(IncorrectKeyException);
  });

  it("answers DisabledException for a disabled key, both ways, until it is enabled again", async () => {
    const arn = emulator.createKey();
    const made = await generate(arn);
    emulator.setEnabled(arn, false);
    await expect(generate(arn)).rejects.toBeInstanceOf(DisabledException);
    const decrypt = () =>
      kms.send(new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: CONTEXT }));
    await expect(decrypt()).rejects.toThrow(`${arn} is disabled.`);
    emulator.setEnabled(arn, true);
    expect((await decrypt()).KeyId).toBe(arn);
  });

  it("answers NotFoundException for an unknown key or alias, or another account's ARN", async () => {
    const arn = emulator.createKey();
    for (const keyId of [
      "1234abcd-12ab-34cd-56ef-1234567890ab",
      "alias/nobody",
      arn.replace(KMS_ACCOUNT, "444455556666"),
    ])
      await expect(generate(keyId)).rejects.toBeInstanceOf(NotFoundException);
  });

  it("answers AccessDeniedException, naming the action and the key, for a key whose policy leaves the caller out", async () => {
    const arn = emulator.createKey();
    const made = await generate(arn);
    emulator.deny(arn);
    await expect(generate(arn)).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining(`kms:GenerateDataKey on resource: ${arn}`),
    });
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: CONTEXT })),
    ).rejects.toMatchObject({ name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } });
  });

  it("receives awsJson1_1 from the SDK: the operation in X-Amz-Target, blobs as base64", async () => {
    const arn = emulator.createKey();
    const made = await generate(arn);
    await kms.send(
      new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, KeyId: arn, EncryptionContext: CONTEXT }),
    );
    expect(emulator.requests).toEqual([
      { operation: "GenerateDataKey", body: { KeyId: arn, KeySpec: "AES_256", EncryptionContext: CONTEXT } },
      {
        operation: "Decrypt",
        body: {
          CiphertextBlob: Buffer.from(made.CiphertextBlob as Uint8Array).toString("base64"),
          KeyId: arn,
          EncryptionContext: CONTEXT,
        },
      },
    ]);
  });

  it("throttles and fails as KMS does: the SDK retries both, and gives up after its attempts", async () => {
    const arn = emulator.createKey();
    emulator.faults.push(THROTTLING, INTERNAL);
    expect((await generate(arn)).KeyId).toBe(arn);
    expect(emulator.requests.map((r) => r.operation)).toEqual(Array(3).fill("GenerateDataKey"));

    const once = client(1);
    emulator.faults.push(THROTTLING);
    await expect(
      once.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: "AES_256" })),
    ).rejects.toMatchObject({ name: "ThrottlingException", $fault: "client" });
    emulator.faults.push(INTERNAL);
    await expect(
      once.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: "AES_256" })),
    ).rejects.toMatchObject({
      name: "KMSInternalException",
      $fault: "server",
    });
    once.destroy();
  });
});
