// App: tycho on Fargate behind a public ALB. The image is the root Dockerfile,
// pushed to the registry stack's repository under the tag given as context
// (`-c imageTag=<commit sha>-base-<hash>`, deploy.yml). tycho exports its own telemetry —
// remote write to AMP, OTLP traces to X-Ray, log push to Loki — so the task has
// a single container: no collector and no log-router sidecar (infra/README.md
// shows how to add an ADOT collector sidecar instead, if preferred). CloudWatch
// alarms on the ALB (lib/alb-alarms.ts) notify the observability stack's alerts topic.
import { Aws, CfnOutput, Duration, RemovalPolicy, Size, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-logs.js';
import { LoadBalancerAlarms } from './alb-alarms.js';
import { AlertTopic } from './alert-routing.js';
import { TYCHO, TychoConfig } from './config.js';

export interface AppStackProps extends StackProps {
  readonly config: TychoConfig;
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.ICluster;
  readonly repository: ecr.IRepository;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly table: dynamodb.ITable;
  /** ARN of the AMP workspace tycho remote-writes to. */
  readonly workspaceArn: string;
  readonly remoteWriteUrl: string;
  readonly lokiPushUrl: string;
  /** The internal ALB's security group: tycho's tasks are let in on its HTTP port (Loki push). */
  readonly lokiLoadBalancerSecurityGroup: ec2.ISecurityGroup;
  readonly lokiLoadBalancerPort: number;
  /** The observability stack's alerts topic: the load balancer's alarms notify it. */
  readonly alerts: AlertTopic;
}

/**
 * ECS waits this long after deregistering a task's target before it sends SIGTERM; the
 * ALB lets requests in flight run that long and then cuts them. Longer than tycho's
 * handler timeout, so the longest request (a 20 s long poll, any handler up to 30 s)
 * ends before the ALB gives up on it.
 */
export const DEREGISTRATION_DELAY_SECONDS = TYCHO.handlerTimeoutSeconds + 5;
/** ALB closes idle connections before tycho does, so it never reuses a connection tycho just closed. */
export const ALB_IDLE_TIMEOUT_SECONDS = 60;
/**
 * After SIGTERM, ECS sends SIGKILL only once tycho's drain timeout has run out (Fargate allows up to 120 s):
 * tycho stops within the drain timeout plus 1 s (the telemetry flush's floor; README, graceful shutdown).
 */
export const STOP_TIMEOUT_SECONDS = TYCHO.drainTimeoutSeconds + 15;

/** Worker threads for a task of `cpu` units (1024 = 1 vCPU): one per vCPU, at least one. */
export function workersFor(cpu: number): number {
  return Math.max(1, Math.floor(cpu / 1024));
}

export class AppStack extends Stack {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, props);
    const { config, vpc, cluster } = props;

    // ---- task: one container, read-only root, non-root -------------------------
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: config.appCpu,
      memoryLimitMiB: config.appMemoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition.addVolume({ name: 'tmp' }); // task-scoped scratch space (bind mount)
    this.grantTaskRole(this.taskDefinition, props);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const container = this.taskDefinition.addContainer('tycho', {
      image: ecs.ContainerImage.fromEcrRepository(props.repository, config.imageTag),
      // The image's ENTRYPOINT/CMD are `tycho serve --routes /app/routes`.
      user: TYCHO.user,
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: TYCHO.port, name: 'http' }],
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      healthCheck: {
        // The binary checks itself: the image carries no curl or wget.
        command: ['CMD', TYCHO.binary, 'health', '--url', `http://127.0.0.1:${TYCHO.port}/health`],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(10),
      },
      environment: {
        TYCHO_LISTEN: `0.0.0.0:${TYCHO.port}`,
        TYCHO_ADMIN_LISTEN: TYCHO.adminListen,
        TYCHO_DRAIN_TIMEOUT: String(TYCHO.drainTimeoutSeconds),
        TYCHO_HANDLER_TIMEOUT: String(TYCHO.handlerTimeoutSeconds),
        // Fargate shows the host's CPUs (2 for a 0.5 vCPU task): one worker per vCPU of the task.
        TYCHO_WORKERS: String(workersFor(config.appCpu)),
        TYCHO_KEEPALIVE_TIMEOUT: String(TYCHO.keepAliveTimeoutSeconds),
        TYCHO_AWS_BACKEND: 'aws',
        // The ALB is the socket peer: believe its X-Forwarded-For (and only its).
        TYCHO_TRUSTED_PROXIES: vpc.vpcCidrBlock,
        TYCHO_DATA_DIR: TYCHO.tmpDir,
        AWS_REGION: Aws.REGION,
        SQS_MESSAGE_QUEUE_URL: props.queue.queueUrl,
        SQS_DEAD_LETTER_QUEUE_URL: props.deadLetterQueue.queueUrl,
        DYNAMODB_APP_TABLE: props.table.tableName,
        OTEL_SERVICE_NAME: 'tycho',
        // Every request (ALB health checks included) would otherwise be a span.
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(config.traceSampleRatio),
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `https://xray.${Aws.REGION}.amazonaws.com/v1/traces`,
        TYCHO_REMOTE_WRITE_URL: props.remoteWriteUrl,
        TYCHO_LOKI_URL: props.lokiPushUrl,
        TYCHO_LOKI_LABELS: `env=${config.name}`,
      },
      // non-blocking: a CloudWatch Logs hiccup must not block tycho's stdout (and its
      // workers); past the buffer, lines are dropped rather than the service stalled.
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'tycho', logGroup, mode: ecs.AwsLogDriverMode.NON_BLOCKING, maxBufferSize: Size.mebibytes(25),
      }),
    });
    container.addMountPoints({ sourceVolume: 'tmp', containerPath: TYCHO.tmpDir, readOnly: false });

    // ---- public ALB -----------------------------------------------------------------
    const albSecurityGroup = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc,
      description: 'Public ALB in front of tycho',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: albSecurityGroup,
      idleTimeout: Duration.seconds(ALB_IDLE_TIMEOUT_SECONDS),
      dropInvalidHeaderFields: true,
    });
    const accessLogs = new AccessLogBucket(this, 'AccessLogs');
    accessLogs.logLoadBalancer(this.loadBalancer, 'public-alb');

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc,
      description: 'tycho tasks: HTTP from the public ALB only',
      allowAllOutbound: true, // AWS APIs, AMP, X-Ray, and Loki through the internal ALB
    });
    // Loki push through the internal ALB, which admits named groups only. The
    // rule lives here (the observability stack cannot name this group: cycle).
    new ec2.CfnSecurityGroupIngress(this, 'LokiPushFromTasks', {
      groupId: props.lokiLoadBalancerSecurityGroup.securityGroupId,
      sourceSecurityGroupId: serviceSecurityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.lokiLoadBalancerPort,
      toPort: props.lokiLoadBalancerPort,
      description: 'Loki push from the tycho tasks',
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: this.taskDefinition,
      // No desiredCount: with autoscaling attached, every deploy would reset the running
      // count to it. The scalable target's minCapacity (appDesiredCount) governs.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      securityGroups: [serviceSecurityGroup],
      healthCheckGracePeriod: Duration.seconds(30),
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc,
      port: TYCHO.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service.loadBalancerTarget({ containerName: 'tycho', containerPort: TYCHO.port })],
      deregistrationDelay: Duration.seconds(DEREGISTRATION_DELAY_SECONDS),
      healthCheck: {
        path: '/health',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    let listener: elbv2.ApplicationListener;
    if (config.appCertificateArn) {
      listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(config.appCertificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    } else {
      listener = this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
      });
    }
    // GET /health?deep=1 makes three AWS calls: not for the internet. The ALB answers
    // 404 itself to a request for /health carrying a `deep` query parameter (its own
    // health check uses plain /health; the deep check stays reachable inside the
    // task). Other paths keep their `deep` parameter: it is the app's to interpret.
    listener.addAction('NoDeepHealth', {
      priority: 1,
      conditions: [
        elbv2.ListenerCondition.pathPatterns(['/health', '/health/']),
        elbv2.ListenerCondition.queryStrings([{ key: 'deep', value: '*' }]),
      ],
      action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: '{"error":"not found"}' }),
    });

    // ---- autoscaling: CPU and requests per target --------------------------------------
    const scaling = this.service.autoScaleTaskCount({ minCapacity: config.appDesiredCount, maxCapacity: config.appMaxCount });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: config.scaleCpuPercent,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(60),
    });
    scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: config.scaleRequestsPerTarget,
      targetGroup: this.targetGroup,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(60),
    });

    // ---- alarms: what the ALB answers itself, which tycho's metrics never see --------
    new LoadBalancerAlarms(this, 'LoadBalancerAlarms', {
      loadBalancer: this.loadBalancer, targetGroup: this.targetGroup, alerts: props.alerts,
    });

    new CfnOutput(this, 'Url', {
      value: `${config.appCertificateArn ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}/`,
    });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });

    // ---- cdk-nag acknowledgements -------------------------------------------------------
    Validations.of(albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'This is the public entry point of the service: the internet-facing ALB accepts HTTP(S) from anywhere '
        + 'on its listener ports only; the tasks behind it accept traffic from this ALB only.',
    });
    Validations.of(accessLogs.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the ALB access logs; it is the log destination itself, and logging its own '
        + 'accesses into itself would recurse.',
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds only non-secret wiring (queue URL, table name, endpoint URLs, timeouts); '
        + 'tycho gets AWS credentials from the task role, never from the environment.',
    });
    Validations.of(this.taskDefinition.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutSpans/PutSpansForIndexing (the X-Ray OTLP endpoint) support no resource-level '
        + 'permissions; every other statement of this role names its queue, table or workspace ARN.',
    });
    if (this.taskDefinition.executionRole) {
      Validations.of(this.taskDefinition.executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken, which the execution role needs to pull from ECR, has no resource-level permissions.',
      });
    }
  }

  /** Least privilege: exactly what tycho's AWS backend and exporters call, on exactly these resources. */
  private grantTaskRole(task: ecs.FargateTaskDefinition, props: AppStackProps): void {
    task.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'Queue',
      actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes'],
      resources: [props.queue.queueArn],
    }));
    task.addToTaskRolePolicy(new iam.PolicyStatement({
      // tycho_sqs_queue_depth for the DLQ: read-only. The consumer finds the DLQ by the
      // name in the queue's RedrivePolicy, so it needs GetQueueUrl as well.
      sid: 'DeadLetterQueueDepth',
      actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [props.deadLetterQueue.queueArn],
    }));
    task.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'Table',
      // What routes/ calls (routes/_app/store.lua, health.lua, workflow.lua): no delete,
      // no batch, no query on the user-index.
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      resources: [props.table.tableArn],
    }));
    task.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'RemoteWrite',
      actions: ['aps:RemoteWrite'],
      resources: [props.workspaceArn],
    }));
    task.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'XRayOtlp',
      actions: ['xray:PutTraceSegments', 'xray:PutSpans', 'xray:PutSpansForIndexing'],
      resources: ['*'],
    }));
  }
}
