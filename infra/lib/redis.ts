// Redis for all of Counsel's state: Amazon MemoryDB (default: durable, vector search with the Query Engine) or
// ElastiCache for Valkey 8.2 (valkey-search), each in cluster mode (REDIS_CLUSTER=true), TLS only, encrypted at
// rest with the stack's key, in the isolated subnets, password-protected with a generated secret.
import { Names, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as memorydb from "aws-cdk-lib/aws-memorydb";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { RedisService } from "./parameters.ts";

export interface RedisProps {
  service: RedisService;
  nodeType: string;
  replicas: number;
  subnets: ec2.ISubnet[];
  securityGroup: ec2.ISecurityGroup;
  key: kms.IKey;
}

export class Redis extends Construct {
  /** The user REDIS_URL names: MemoryDB's ACL user, or ElastiCache's `default` with an AUTH token. */
  readonly user: string;
  /** The generated password; the task reads it from Secrets Manager. */
  readonly password: secretsmanager.Secret;
  /** The cluster's configuration endpoint, `host:port`. */
  readonly address: string;
  /** The engine's CloudWatch namespace and the name its nodes' metrics carry (dashboards search for it). */
  readonly metrics: { namespace: string; name: string };

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    this.password = new secretsmanager.Secret(this, "Password", {
      description: "Counsel's Redis password",
      encryptionKey: props.key,
      // Letters and digits only: it goes into REDIS_URL without escaping, and ElastiCache refuses some symbols.
      generateSecretString: { passwordLength: 40, excludePunctuation: true, includeSpace: false },
    });
    const password = this.password.secretValue.unsafeUnwrap(); // a CloudFormation dynamic reference, not the value
    const name = redisName(this);

    if (props.service === "memorydb") {
      const subnets = new memorydb.CfnSubnetGroup(this, "Subnets", {
        subnetGroupName: name,
        description: "Counsel: isolated subnets",
        subnetIds: props.subnets.map((s) => s.subnetId),
      });
      const user = new memorydb.CfnUser(this, "User", {
        userName: `${name}-counsel`,
        accessString: "on ~* &* +@all",
        authenticationMode: { Type: "password", Passwords: [password] },
      });
      const acl = new memorydb.CfnACL(this, "Acl", { aclName: name, userNames: [user.userName] });
      acl.addResourceDependency(user);
      const cluster = new memorydb.CfnCluster(this, "Cluster", {
        clusterName: name,
        description: "Counsel's vectors, records, caches and sessions",
        engine: "redis",
        // Vector search: engine 7.1, one shard, the search parameter group (MemoryDB vector search docs).
        engineVersion: "7.1",
        parameterGroupName: "default.memorydb-redis7.search",
        nodeType: props.nodeType,
        numShards: 1,
        numReplicasPerShard: props.replicas,
        aclName: acl.aclName,
        subnetGroupName: subnets.subnetGroupName,
        securityGroupIds: [props.securityGroup.securityGroupId],
        tlsEnabled: true,
        kmsKeyId: props.key.keyArn,
        port: 6379,
        snapshotRetentionLimit: 7,
        // MemoryDB takes no DeletionPolicy Snapshot: it snapshots itself on deletion under this name.
        finalSnapshotName: `${name}-final`,
        autoMinorVersionUpgrade: true,
      });
      cluster.addResourceDependency(acl);
      cluster.addResourceDependency(subnets);
      this.address = `${cluster.attrClusterEndpointAddress}:${Token.asString(cluster.attrClusterEndpointPort)}`;
      // MemoryDB names its users `username` in the ACL, so REDIS_URL carries the full user name.
      this.user = user.userName;
      this.metrics = { namespace: "AWS/MemoryDB", name };
      return;
    }

    this.user = "default";
    const subnets = new elasticache.CfnSubnetGroup(this, "Subnets", {
      cacheSubnetGroupName: name,
      description: "Counsel: isolated subnets",
      subnetIds: props.subnets.map((s) => s.subnetId),
    });
    const group = new elasticache.CfnReplicationGroup(this, "Cluster", {
      replicationGroupId: name,
      replicationGroupDescription: "Counsel's vectors, records, caches and sessions",
      engine: "valkey",
      // valkey-search (the Query Engine) needs 8.2; cluster mode as docs/redis.md describes.
      engineVersion: "8.2",
      cacheParameterGroupName: "default.valkey8.cluster.on",
      clusterMode: "enabled",
      numNodeGroups: 1,
      replicasPerNodeGroup: props.replicas,
      automaticFailoverEnabled: true,
      multiAzEnabled: props.replicas > 0,
      cacheNodeType: props.nodeType,
      cacheSubnetGroupName: subnets.cacheSubnetGroupName,
      securityGroupIds: [props.securityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      atRestEncryptionEnabled: true,
      kmsKeyId: props.key.keyArn,
      authToken: password,
      port: 6379,
      snapshotRetentionLimit: 7,
      autoMinorVersionUpgrade: true,
    });
    group.addResourceDependency(subnets);
    group.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    this.address = `${group.attrConfigurationEndPointAddress}:${Token.asString(group.attrConfigurationEndPointPort)}`;
    this.metrics = { namespace: "AWS/ElastiCache", name };
  }
}

/**
 * A name MemoryDB and ElastiCache both take, unique in the account and region: lowercase letters, digits and
 * single hyphens, starting with a letter (as stack names do), 31 characters so that `-counsel` still fits 40.
 */
export function redisName(scope: Construct): string {
  const stack = Stack.of(scope)
    .stackName.toLowerCase()
    .replace(/[^a-z0-9]+/g, "-");
  const unique = Names.uniqueId(scope).slice(-8).toLowerCase();
  return `${stack.slice(0, 22)}-${unique}`.replace(/-+/g, "-");
}
