import { Annotations, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props for {@link StreamService}. */
export interface StreamServiceProps {
  /** The task image (built from `docker/stream.Dockerfile` at deploy). */
  readonly image: ecs.ContainerImage;
  /** Environment per contract.ts (`ENV`), `HEALTH_PORT` included. */
  readonly environment: Readonly<Record<string, string>>;
  /** The port of the task's HTTP health endpoint. */
  readonly healthPort: number;
  /** Encrypts the logs (task and VPC flow logs). */
  readonly key: kms.IKey;
  /** @default 256 */
  readonly cpu?: number;
  /** @default 512 */
  readonly memoryLimitMiB?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Custom metrics the task logs as EMF, published through log metric filters. @default none */
  readonly logMetrics?: readonly string[];
  /** @default 'MlConnector' */
  readonly metricNamespace?: string;
  /**
   * TCP ports the task may reach (any IPv4 address): 443 for HTTPS (Salesforce REST, Dynamics,
   * AWS APIs) and the Pub/Sub endpoint's port (7443 for api.pubsub.salesforce.com).
   * @default [443]
   */
  readonly egressPorts?: readonly number[];
  /**
   * An existing VPC and its private subnets: the task runs there without a public IP, its egress
   * through the customer's NAT gateway or VPC endpoints. @default the construct's own VPC
   * (public subnets, public IP, no NAT)
   */
  readonly network?: { readonly vpcId: string; readonly privateSubnetIds: readonly string[] };
}

/**
 * The Salesforce Pub/Sub subscriber: one Fargate task (desired 1, min healthy 0 %, max 100 %, so a
 * deployment stops the old stream before the new one starts and two never consume at once), whose
 * security group admits nothing and lets out only HTTPS and the Pub/Sub port. By default in its
 * own VPC: public subnets with a public IP instead of a NAT gateway (nothing can connect in, and
 * there is no NAT to pay for). With `network`, in the customer's private subnets, no public IP.
 */
export class StreamService extends Construct {
  public readonly vpc: ec2.IVpc;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly service: ecs.FargateService;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StreamServiceProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const existing = props.network;
    let subnets: ec2.SubnetSelection;
    if (existing) {
      // No lookups (no AWS call at synth): the ids are taken as given; CloudFormation checks them.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: existing.vpcId,
        availabilityZones: Fn.getAzs(),
      });
      Annotations.of(this.vpc).acknowledgeWarning(
        '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
        'Only the security group (the VPC id) and the service (the subnets given by id) use the VPC; nothing selects its subnets by zone.',
      );
      subnets = {
        subnets: existing.privateSubnetIds.map((id, i) => {
          const subnet = ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id);
          Annotations.of(subnet).acknowledgeWarning(
            '@aws-cdk/aws-ec2:noSubnetRouteTableId',
            'The stack only places the task in these subnets; it never reads or changes their route tables.',
          );
          return subnet;
        }),
      };
    } else {
      const own = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        restrictDefaultSecurityGroup: true,
      });
      own.addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogGroup', {
            retention,
            encryptionKey: props.key,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        ),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
      // exactOptionalPropertyTypes disagrees with aws-cdk-lib's own declarations of Vpc and Cluster.
      this.vpc = own as unknown as ec2.IVpc;
      subnets = { subnetType: ec2.SubnetType.PUBLIC };
    }
    const vpc = this.vpc;
    const ports = [...new Set(props.egressPorts ?? [443])].sort((a, b) => a - b);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `ml-connector stream: no ingress; egress TCP ${ports.join(', ')} only`,
      allowAllOutbound: false,
    });
    for (const port of ports) {
      this.securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(port),
        port === 443
          ? 'HTTPS to Salesforce, Dynamics and AWS APIs'
          : 'Salesforce Pub/Sub API (gRPC over TLS)',
      );
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The task's Powertools metrics are EMF lines on stdout; CloudWatch extracts EMF from Lambda logs
    // but not from the awslogs driver, so metric filters turn the task's lines into the same metrics.
    for (const metricName of props.logMetrics ?? []) {
      this.logGroup.addMetricFilter(`${metricName}Filter`, {
        filterPattern: logs.FilterPattern.numberValue(`$.${metricName}`, '>=', 0),
        metricNamespace: props.metricNamespace ?? 'MlConnector',
        metricName,
        metricValue: `$.${metricName}`,
        dimensions: { service: '$.service' },
      });
    }
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 256,
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const url = `http://127.0.0.1:${props.healthPort}/health`;
    this.taskDefinition.addContainer('Stream', {
      image: props.image,
      essential: true,
      readonlyRootFilesystem: true,
      environment: { ...props.environment },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'stream', logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(60),
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch(${JSON.stringify(url)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster as unknown as ecs.ICluster,
      taskDefinition: this.taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      assignPublicIp: existing === undefined,
      securityGroups: [this.securityGroup],
      vpcSubnets: subnets,
      circuitBreaker: { rollback: true },
      enableExecuteCommand: false,
    });
  }
}
