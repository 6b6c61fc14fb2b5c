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

describe("the openai providers", () => {
  const ollama = {
    MODEL_PROVIDER: "openai",
    MODEL_ID: "llama3.2",
    OPENAI_BASE_URL: "http://localhost:11434/v1",
    EMBEDDINGS_PROVIDER: "openai",
    EMBEDDINGS_MODEL: "nomic-embed-text",
  };

  it("take a local server with no key, and leave the embedding dimension to the model", () => {
    const settings = loadSettings(ollama);
    expect(settings.openai).toEqual({ baseURL: "http://localhost:11434/v1", apiKey: undefined });
    expect(settings.embeddings).toEqual({
      provider: "openai",
      model: "nomic-embed-text",
      dimensions: undefined,
      concurrency: 16,
    });
  });

  it("keep Titan v2 and 1024 dimensions as the defaults of the other embedders", () => {
    expect(loadSettings({ EMBEDDINGS_PROVIDER: "bedrock" }).embeddings).toMatchObject({
      model: "amazon.titan-embed-text-v2:0",
      dimensions: 1024,
    });
    expect(loadSettings({}).embeddings).toMatchObject({ provider: "local", dimensions: 1024 });
  });

  it.each([
    {
      when: "a base URL that is not one",
      env: { ...ollama, OPENAI_BASE_URL: "localhost:11434" },
      message: /OPENAI_BASE_URL: expected an http:\/\/ or https:\/\/ URL/,
    },
    {
      when: "an openai embedder with no model",
      env: { ...ollama, EMBEDDINGS_MODEL: "" },
      message: /EMBEDDINGS_MODEL: required when EMBEDDINGS_PROVIDER is openai/,
    },
    {
      when: "the OpenAI API with no key",
      env: { ...ollama, OPENAI_BASE_URL: "" },
      message: /OPENAI_API_KEY: required by the OpenAI API/,
    },
  ])("stop the start on $when, naming the variable", ({ env, message }) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(message);
  });
});

describe("DATA_KMS_KEY_ID", () => {
  it.each([
    "1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "alias/counsel-data",
  ])("takes a key id, ARN or alias: %s", (value) => {
    expect(loadSettings({ DATA_KMS_KEY_ID: value }).dataKmsKeyId).toBe(value);
  });

  it("leaves DATA_DIR unencrypted when unset or empty", () => {
    expect(loadSettings({}).dataKmsKeyId).toBeUndefined();
    expect(loadSettings({ DATA_KMS_KEY_ID: "" }).dataKmsKeyId).toBeUndefined();
  });
});
