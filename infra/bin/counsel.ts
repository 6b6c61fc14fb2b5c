// The CDK app: one Counsel stack, its choices read from context (docs/aws-deployment.md lists them). The stack is
// environment-agnostic (account and region come from the deploying credentials), so synth needs no AWS account.
import { App } from "aws-cdk-lib";
import { CounselStack } from "../lib/counsel-stack.ts";
import { readParameters } from "../lib/parameters.ts";

const app = new App();
const stackName = (app.node.tryGetContext("stackName") as string | undefined) ?? "Counsel";
new CounselStack(app, stackName, {
  parameters: readParameters(app.node),
  description:
    "Counsel: answers from an organisation's documents (ECS Fargate, ALB, MemoryDB or ElastiCache, S3, Bedrock)",
});
app.synth();
