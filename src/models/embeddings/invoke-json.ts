// One InvokeModel call with a JSON body and a JSON reply, as every Bedrock embedding model takes it.
import { type BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";

export async function invokeJson<T>(
  client: BedrockRuntimeClient,
  modelId: string,
  body: unknown,
): Promise<T> {
  const response = await client.send(
    new InvokeModelCommand({
      modelId,
      body: JSON.stringify(body),
      contentType: "application/json",
      accept: "application/json",
    }),
  );
  return JSON.parse(new TextDecoder().decode(response.body)) as T;
}
