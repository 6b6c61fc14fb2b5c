// When ingestion reads a document with Amazon Textract, and how: enabled by TEXTRACT_ENABLED or by the recipe
// (`textract.enabled` wins), with the recipe's features and limits, and the S3 bucket where multi-page
// documents are staged for the async API. The loaders send images, and PDFs without a text layer, here. The
// Textract and S3 clients are imported with the first document sent, so that routing costs nothing until then.
import type { Settings } from "../../config/settings.ts";
import type { Recipe } from "../recipe.ts";
import type { TextractLoader, TextractLoaderOptions } from "./textract-loader.ts";

export interface TextractRouting {
  /** Reads one document's bytes into a Document per page. */
  load(bytes: Uint8Array, name: string, signal?: AbortSignal): ReturnType<TextractLoader["load"]>;
}

/** The routing for a recipe, or undefined when Textract is off for it. */
export function textractRouting(settings: Settings, recipe: Recipe): TextractRouting | undefined {
  const { textract } = recipe;
  if (!(textract.enabled ?? settings.textract.enabled)) return undefined;
  const staging = settings.textract.s3Bucket;
  // Made on first use; region, credentials and endpoint (AWS_ENDPOINT_URL_TEXTRACT) from the SDK's chain.
  const open = async () => {
    const [{ TextractClient }, { TextractLoader }, { createS3Client }] = await Promise.all([
      import("@aws-sdk/client-textract"),
      import("./textract-loader.ts"),
      import("../sources/s3.ts"),
    ]);
    const options: TextractLoaderOptions = {
      features: textract.features,
      keepHeadersFooters: textract.keepHeadersFooters,
      timeoutMs: textract.timeoutMs,
      s3: staging
        ? {
            bucket: staging,
            prefix: settings.textract.s3Prefix,
            kmsKeyId: settings.s3.kmsKeyId,
            client: createS3Client({ forcePathStyle: settings.s3.forcePathStyle }),
          }
        : undefined,
    };
    return { TextractLoader, client: new TextractClient({ maxAttempts: 5 }), options };
  };
  let opened: ReturnType<typeof open> | undefined;
  return {
    async load(bytes, name, signal) {
      opened ??= open();
      const { TextractLoader, client, options } = await opened;
      return new TextractLoader(bytes, name, client, { ...options, signal }).load();
    },
  };
}
