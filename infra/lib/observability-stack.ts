// Observability: where tycho's telemetry goes and how people look at it.
//  - metrics: an Amazon Managed Prometheus workspace (tycho remote-writes to it)
//    with the alert rules of grafana/alerts loaded as a rule-groups namespace,
//    and an alert manager definition that sends the alerts to an SNS topic;
//  - traces:  X-Ray Transaction Search (tycho posts OTLP to the X-Ray endpoint);
//  - logs:    Loki on Fargate (S3 chunks + index, EFS for WAL and compactor state);
//  - Grafana on Fargate with the provisioning of grafana/ baked into its image.
// Loki and Grafana run in private subnets behind one internal ALB that routes by
// host name (loki.<zone>, grafana.<zone>, Route 53 private zone). People reach
// them through a Client VPN endpoint (mutual TLS, split tunnel).
import * as fs from 'node:fs';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations, Annotations } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as xray from 'aws-cdk-lib/aws-xray';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-logs.js';
import { AlertTopic, alertManagerConfig, alertManagerDefinition } from './alert-routing.js';
import { TychoConfig, vpcResolver } from './config.js';

export interface ObservabilityStackProps extends StackProps {
  readonly config: TychoConfig;
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.ICluster;
  readonly grafanaRepository: ecr.IRepository;
  readonly lokiRepository: ecr.IRepository;
  /** Prometheus rule-group file(s) loaded into AMP (grafana/alerts/*.yml). */
  readonly alertRuleFiles: string[];
}

const LOKI_PORT = 3100;
/**
 * The internal ALB's listeners. HTTP (80): Grafana's UI, and of Loki only the
 * push API and /ready — what tycho's tasks need. LOKI_QUERY (3100): all of
 * Loki's API (queries, labels, tail, and the delete API: auth_enabled is false),
 * admitted only from Grafana and the Client VPN.
 */
export const INTERNAL_HTTP_PORT = 80;
export const LOKI_QUERY_PORT = 3100;
/** The only Loki paths the HTTP listener forwards (tycho pushes logs; /ready for a probe). */
export const LOKI_PUSH_PATHS = ['/loki/api/v1/push', '/ready'];
const GRAFANA_PORT = 3000;
/** uid/gid the upstream images run as (grafana/grafana: 472:0, grafana/loki: 10001:10001). */
const GRAFANA_POSIX = { uid: '472', gid: '0' };
const LOKI_POSIX = { uid: '10001', gid: '10001' };

export class ObservabilityStack extends Stack {
  readonly workspace: aps.CfnWorkspace;
  /** The SNS topic AMP's alert manager publishes every alert to. */
  readonly alerts: AlertTopic;
  /** AMP remote-write URL: <workspace endpoint>api/v1/remote_write */
  readonly remoteWriteUrl: string;
  readonly lokiPushUrl: string;
  readonly grafanaUrl: string;
  readonly internalLoadBalancer: elbv2.ApplicationLoadBalancer;
  /** Admits nothing by default: Grafana, the Client VPN and (from the app stack) tycho's tasks are let in by group. */
  readonly internalLoadBalancerSecurityGroup: ec2.SecurityGroup;
  readonly lokiService: ecs.FargateService;
  readonly grafanaService: ecs.FargateService;
  readonly lokiBucket: s3.Bucket;
  readonly fileSystem: efs.FileSystem;
  readonly vpnEndpoint?: ec2.ClientVpnEndpoint;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, vpc, cluster } = props;
    const lokiHost = `loki.${config.zoneName}`;
    const grafanaHost = `grafana.${config.zoneName}`;
    this.lokiPushUrl = `http://${lokiHost}/loki/api/v1/push`;
    this.grafanaUrl = `http://${grafanaHost}/`;

    // ---- metrics: AMP workspace, alert rules, where the alerts go ------------
    this.alerts = new AlertTopic(this, 'Alerts', {
      topicName: `${config.name}-alerts`,
      displayName: `${config.prefix} alerts`,
      emails: config.alertEmails,
      alarmNamePrefix: `${config.name}-`,
    });
    this.workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: config.name,
      alertManagerDefinition: alertManagerDefinition(alertManagerConfig(this.alerts.topic.topicArn, Aws.REGION)),
    });
    this.alerts.allowPublishFrom(this.workspace);
    new CfnOutput(this, 'AlertsTopicArn', {
      value: this.alerts.topic.topicArn,
      description: 'SNS topic of the AMP alerts: subscribe e-mail, Chatbot (Slack), PagerDuty... here',
    });
    this.remoteWriteUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;
    props.alertRuleFiles.forEach((file, i) => {
      new aps.CfnRuleGroupsNamespace(this, `AlertRules${i}`, {
        workspace: this.workspace.attrArn,
        name: `${config.name}-alerts${i === 0 ? '' : `-${i}`}`,
        data: fs.readFileSync(file, 'utf8'),
      });
    });

    // ---- traces: X-Ray Transaction Search ------------------------------------
    if (config.transactionSearch) {
      // X-Ray writes indexed spans to the aws/spans log group (and Application
      // Signals data); it needs this account-level logs resource policy first.
      const spansPolicy = new logs.CfnResourcePolicy(this, 'TransactionSearchLogsPolicy', {
        policyName: `${config.name}-xray-transaction-search`,
        policyDocument: Stack.of(this).toJsonString({
          Version: '2012-10-17',
          Statement: [{
            Sid: 'TransactionSearchXRayAccess',
            Effect: 'Allow',
            Principal: { Service: 'xray.amazonaws.com' },
            Action: 'logs:PutLogEvents',
            Resource: [
              `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:aws/spans:*`,
              `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/application-signals/data:*`,
            ],
            Condition: {
              ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:xray:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
              StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
            },
          }],
        }),
      });
      const search = new xray.CfnTransactionSearchConfig(this, 'TransactionSearch', {
        indexingPercentage: config.transactionSearchIndexingPercent,
      });
      search.node.addDependency(spansPolicy);
    }

    // ---- storage: access logs, Loki bucket, EFS ------------------------------
    const accessLogs = new AccessLogBucket(this, 'AccessLogs');

    this.lokiBucket = new s3.Bucket(this, 'LokiBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs.bucket,
      serverAccessLogsPrefix: 'loki-bucket/',
      lifecycleRules: [
        // Loki's compactor enforces retention (grafana/loki/loki.yaml); this is
        // the backstop for anything it leaves behind.
        { id: 'expire-objects', expiration: Duration.days(config.lokiObjectExpirationDays) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.fileSystem = new efs.FileSystem(this, 'FileSystem', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const grafanaAccessPoint = this.fileSystem.addAccessPoint('GrafanaAccessPoint', {
      path: '/grafana',
      posixUser: GRAFANA_POSIX,
      createAcl: { ownerUid: GRAFANA_POSIX.uid, ownerGid: GRAFANA_POSIX.gid, permissions: '750' },
    });
    const lokiAccessPoint = this.fileSystem.addAccessPoint('LokiAccessPoint', {
      path: '/loki',
      posixUser: LOKI_POSIX,
      createAcl: { ownerUid: LOKI_POSIX.uid, ownerGid: LOKI_POSIX.gid, permissions: '750' },
    });

    // ---- internal ALB with host-based routing --------------------------------
    // No CIDR ingress: Loki has no authentication (grafana/loki/loki.yaml), so
    // only named security groups reach the ALB: tycho's tasks (rule added by
    // the app stack, port 80), Grafana (3100) and the Client VPN (both).
    const albSecurityGroup = new ec2.SecurityGroup(this, 'InternalAlbSecurityGroup', {
      vpc,
      description: 'Internal ALB for Loki and Grafana: tycho tasks (Loki push), Grafana (Loki queries), Client VPN',
      allowAllOutbound: false,
    });
    this.internalLoadBalancerSecurityGroup = albSecurityGroup;
    this.internalLoadBalancer = new elbv2.ApplicationLoadBalancer(this, 'InternalAlb', {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    accessLogs.logLoadBalancer(this.internalLoadBalancer, 'internal-alb');
    const listener = this.internalLoadBalancer.addListener('Http', {
      port: INTERNAL_HTTP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'unknown host' }),
    });

    // ---- Loki ------------------------------------------------------------------
    const lokiTask = new ecs.FargateTaskDefinition(this, 'LokiTask', { cpu: 1024, memoryLimitMiB: 2048 });
    lokiTask.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'LokiListBucket',
      actions: ['s3:ListBucket'],
      resources: [this.lokiBucket.bucketArn],
    }));
    lokiTask.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'LokiObjects',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [this.lokiBucket.arnForObjects('*')],
    }));
    this.grantAccessPoint(lokiTask.taskRole, lokiAccessPoint);
    lokiTask.addVolume({
      name: 'loki-data',
      efsVolumeConfiguration: {
        fileSystemId: this.fileSystem.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: lokiAccessPoint.accessPointId, iam: 'ENABLED' },
      },
    });
    const loki = lokiTask.addContainer('loki', {
      image: ecs.ContainerImage.fromEcrRepository(props.lokiRepository, config.lokiImageTag),
      // The image's entrypoint is loki with grafana/loki/loki.yaml baked in; it
      // expands ${LOKI_S3_BUCKET} and ${AWS_REGION} from this environment.
      environment: { LOKI_S3_BUCKET: this.lokiBucket.bucketName, AWS_REGION: Aws.REGION },
      portMappings: [{ containerPort: LOKI_PORT }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'loki', logGroup: this.logGroup('LokiLogs', config) }),
      stopTimeout: Duration.seconds(60), // flush in-memory chunks to S3 on shutdown
    });
    loki.addMountPoints({ sourceVolume: 'loki-data', containerPath: '/loki', readOnly: false });
    this.lokiService = new ecs.FargateService(this, 'LokiService', {
      cluster,
      taskDefinition: lokiTask,
      desiredCount: 1, // single binary, in-memory ring: one writer for the WAL on EFS
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(90), // /ready turns 200 some seconds after the ring settles
    });
    this.fileSystem.connections.allowDefaultPortFrom(this.lokiService, 'NFS from Loki');
    const lokiTargets = listener.addTargets('Loki', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.hostHeaders([lokiHost]), elbv2.ListenerCondition.pathPatterns(LOKI_PUSH_PATHS)],
      port: LOKI_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.lokiService.loadBalancerTarget({ containerName: 'loki', containerPort: LOKI_PORT })],
      healthCheck: { path: '/ready', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(30),
    });

    // Loki's whole API on its own port, for Grafana and VPN users only.
    this.internalLoadBalancer.addListener('LokiQuery', {
      port: LOKI_QUERY_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.forward([lokiTargets]),
    });

    // ---- Grafana ---------------------------------------------------------------
    const adminPassword = new secretsmanager.Secret(this, 'GrafanaAdminPassword', {
      description: 'Grafana admin password (user admin)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    const grafanaTask = new ecs.FargateTaskDefinition(this, 'GrafanaTask', { cpu: 512, memoryLimitMiB: 1024 });
    this.grantAccessPoint(grafanaTask.taskRole, grafanaAccessPoint);
    grafanaTask.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'QueryAmp',
      actions: ['aps:QueryMetrics', 'aps:GetLabels', 'aps:GetSeries', 'aps:GetMetricMetadata'],
      resources: [this.workspace.attrArn],
    }));
    grafanaTask.addToTaskRolePolicy(new iam.PolicyStatement({
      sid: 'ReadXRay',
      // X-Ray read APIs have no resource-level permissions.
      actions: ['xray:BatchGetTraces', 'xray:GetTraceSummaries', 'xray:GetTraceGraph', 'xray:GetServiceGraph',
        'xray:GetGroups', 'xray:GetTimeSeriesServiceStatistics', 'xray:GetInsightSummaries'],
      resources: ['*'],
    }));
    grafanaTask.addVolume({
      name: 'grafana-data',
      efsVolumeConfiguration: {
        fileSystemId: this.fileSystem.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: grafanaAccessPoint.accessPointId, iam: 'ENABLED' },
      },
    });
    const grafana = grafanaTask.addContainer('grafana', {
      image: ecs.ContainerImage.fromEcrRepository(props.grafanaRepository, config.grafanaImageTag),
      environment: {
        // read by grafana/provisioning/datasources/datasources.yaml
        AMP_QUERY_URL: this.workspace.attrPrometheusEndpoint,
        LOKI_URL: `http://${lokiHost}:${LOKI_QUERY_PORT}`,
        AWS_REGION: Aws.REGION,
        GF_SERVER_ROOT_URL: this.grafanaUrl,
        GF_SECURITY_ADMIN_USER: 'admin',
      },
      secrets: { GF_SECURITY_ADMIN_PASSWORD: ecs.Secret.fromSecretsManager(adminPassword) },
      portMappings: [{ containerPort: GRAFANA_PORT }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'grafana', logGroup: this.logGroup('GrafanaLogs', config) }),
    });
    grafana.addMountPoints({ sourceVolume: 'grafana-data', containerPath: '/var/lib/grafana', readOnly: false });
    this.grafanaService = new ecs.FargateService(this, 'GrafanaService', {
      cluster,
      taskDefinition: grafanaTask,
      desiredCount: 1, // SQLite database on EFS: one writer
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(90), // first start migrates the database
    });
    this.fileSystem.connections.allowDefaultPortFrom(this.grafanaService, 'NFS from Grafana');
    albSecurityGroup.connections.allowFrom(this.grafanaService, ec2.Port.tcp(LOKI_QUERY_PORT), 'Loki queries from Grafana');
    listener.addTargets('Grafana', {
      priority: 20,
      conditions: [elbv2.ListenerCondition.hostHeaders([grafanaHost])],
      port: GRAFANA_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.grafanaService.loadBalancerTarget({ containerName: 'grafana', containerPort: GRAFANA_PORT })],
      healthCheck: { path: '/api/health', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(15),
    });

    // ---- DNS: private zone ----------------------------------------------------
    const zone = new route53.PrivateHostedZone(this, 'Zone', { zoneName: config.zoneName, vpc });
    const albTarget = route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.internalLoadBalancer));
    new route53.ARecord(this, 'LokiRecord', { zone, recordName: 'loki', target: albTarget });
    new route53.ARecord(this, 'GrafanaRecord', { zone, recordName: 'grafana', target: albTarget });

    // ---- Client VPN -------------------------------------------------------------
    if (config.vpnServerCertificateArn && config.vpnClientCertificateArn) {
      const vpnLogs = new logs.LogGroup(this, 'VpnConnectionLogs', {
        retention: config.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.vpnEndpoint = new ec2.ClientVpnEndpoint(this, 'ClientVpn', {
        vpc,
        description: `${config.prefix}: access to Grafana and Loki`,
        cidr: config.vpnClientCidr,
        serverCertificateArn: config.vpnServerCertificateArn,
        clientCertificateArn: config.vpnClientCertificateArn, // mutual TLS
        splitTunnel: true, // only VPC traffic goes through the tunnel
        dnsServers: [vpcResolver(config.vpcCidr)], // resolves the private zone
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        authorizeAllUsersToVpcCidr: true,
        logging: true,
        logGroup: vpnLogs,
      });
      albSecurityGroup.connections.allowFrom(this.vpnEndpoint, ec2.Port.tcp(INTERNAL_HTTP_PORT), 'Grafana from the Client VPN');
      albSecurityGroup.connections.allowFrom(this.vpnEndpoint, ec2.Port.tcp(LOKI_QUERY_PORT), 'Loki queries from the Client VPN');
    } else {
      Annotations.of(this).addInfo(
        'Client VPN not created: pass -c vpnServerCertificateArn=... -c vpnClientCertificateArn=... (ACM) to create it.');
    }

    for (const task of [lokiTask, grafanaTask]) {
      Validations.of(task).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason: 'The environment holds only non-secret wiring (bucket name, region, endpoint URLs); the one secret, '
          + "Grafana's admin password, is injected from Secrets Manager.",
      });
    }
    Validations.of(adminPassword).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: "Grafana stores its admin password in its own database on first start; rotating the secret would not "
        + 'change it, so rotation is done by hand (grafana cli admin reset-admin-password), see infra/README.md.',
    });
    Validations.of(grafanaTask.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray read actions (BatchGetTraces, GetTraceSummaries, ...) support no resource-level permissions; '
        + 'the statement holds only read actions, no wildcard action.',
    });
    Validations.of(lokiTask.taskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.lokiBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason: 'Loki writes chunks and index as objects with generated keys: Get/Put/DeleteObject are scoped to the '
        + 'objects of its own bucket (<LokiBucket ARN>/*), with no wildcard action.',
    });
    for (const task of [lokiTask, grafanaTask]) {
      if (task.executionRole) {
        Validations.of(task.executionRole).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'ecr:GetAuthorizationToken, which the execution role needs to pull from ECR, has no resource-level permissions.',
        });
      }
    }
  }

  private logGroup(id: string, config: TychoConfig): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** IAM authorization for an EFS mount through one access point (the file system policy denies anonymous mounts). */
  private grantAccessPoint(role: iam.IRole, accessPoint: efs.AccessPoint): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      resources: [this.fileSystem.fileSystemArn],
      conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint.accessPointArn } },
    }));
  }
}
