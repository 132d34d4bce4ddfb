// Where AMP's alerts go. AMP evaluates the rules of grafana/alerts; its alert
// manager groups the firing alerts and publishes them to one SNS topic, which
// people subscribe to (e-mail from context here; Chatbot, PagerDuty... by hand).
// The CloudWatch alarms of the public load balancer (app stack) publish there too.
//  - AlertTopic: the topic, encrypted with a customer-managed KMS key (AMP
//    cannot use the AWS-managed alias/aws/sns key, whose policy nobody can
//    edit), TLS-only, and the grants that let one workspace and this
//    deployment's CloudWatch alarms publish to it;
//  - alertManagerConfig / alertManagerDefinition: the workspace's alert
//    manager definition, in AMP's format (AMP-alertmanager-config in the AMP
//    user guide): a YAML document whose `alertmanager_config` key holds an
//    Alertmanager configuration as a string. `template_files` is optional and
//    not used: the SNS receiver's default subject and message templates apply.
import { ArnFormat, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

const AMP_PRINCIPAL = 'aps.amazonaws.com';
const CLOUDWATCH_PRINCIPAL = 'cloudwatch.amazonaws.com';

/** The receiver every alert is routed to. */
const RECEIVER = 'sns';

/**
 * The Alertmanager configuration (prometheus.io/docs/alerting/latest/configuration/)
 * that routes every alert to the topic. One notification per alert name and
 * severity; AMP caps repeat_interval at 5 days.
 */
export function alertManagerConfig(topicArn: string, region: string) {
  return {
    route: {
      receiver: RECEIVER,
      group_by: ['alertname', 'severity'],
      group_wait: '30s', // first notification of a new group: wait for its siblings
      group_interval: '5m', // a group that changes (new alert, resolved) notifies again after this
      repeat_interval: '4h', // a group still firing unchanged is sent again after this
    },
    receivers: [{
      name: RECEIVER,
      sns_configs: [{
        topic_arn: topicArn,
        sigv4: { region }, // AMP requires the region; api_url and http_config are not allowed
        send_resolved: true,
      }],
    }],
  };
}

/**
 * AMP's alert manager definition for `config`: `alertmanager_config:` with the
 * configuration as a literal block. The configuration is written as JSON, which
 * is YAML too (and what Alertmanager's YAML parser reads), so it is generated
 * from the object rather than templated by hand, and CDK tokens in its strings
 * (ARNs, region) stay intact: JSON.stringify leaves their ${Token[...]} markers as is.
 */
export function alertManagerDefinition(config: object): string {
  const body = JSON.stringify(config, null, 2).split('\n').map((line) => `  ${line}`).join('\n');
  return `alertmanager_config: |\n${body}\n`;
}

export interface AlertTopicProps {
  /**
   * The topic's name. Fixed rather than generated so that the key policy can
   * name the topic's ARN (its encryption context) without referring to the
   * topic, which refers to the key.
   */
  readonly topicName: string;
  /** Shown as the sender name of e-mail notifications. */
  readonly displayName: string;
  /** E-mail subscriptions; SNS mails each address a confirmation link first. */
  readonly emails: readonly string[];
  /** CloudWatch alarms of this account whose names start with this may publish to the topic. */
  readonly alarmNamePrefix: string;
}

export class AlertTopic extends Construct {
  readonly key: kms.Key;
  readonly topic: sns.Topic;
  /** The topic's ARN, built from its name: usable where a Ref to the topic would close a cycle. */
  readonly topicArn: string;
  /** Name every CloudWatch alarm that notifies this topic with this prefix: only those may publish. */
  readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the SNS topic that AMP alerts are published to (${props.displayName})`,
      enableKeyRotation: true,
      // SNS keeps a message only until it is delivered: once the topic is gone
      // there is nothing left to decrypt (KMS still waits 30 days before deleting).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.topicArn = Stack.of(this).formatArn({
      service: 'sns',
      resource: props.topicName,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    props.emails.forEach((email) => this.topic.addSubscription(new subscriptions.EmailSubscription(email)));
    this.alarmNamePrefix = props.alarmNamePrefix;
    this.allowCloudWatchAlarms();
  }

  /**
   * Lets this workspace's alert manager publish to the topic. The topic policy
   * names the workspace; the key policy can only name the account's workspaces
   * in this region: the workspace refers to the topic (its definition), the
   * topic to the key, so a key policy that referred to the workspace would close
   * a dependency cycle. Without the topic policy the key alone lets AMP publish nothing.
   * The key grant holds only for this topic's messages: SNS asks KMS with the
   * encryption context aws:sns:topicArn (SNS developer guide, "Enable
   * compatibility between event sources from AWS services and encrypted topics").
   */
  allowPublishFrom(workspace: aps.CfnWorkspace): void {
    this.allowService('AmpAlertManager', AMP_PRINCIPAL, ['sns:Publish', 'sns:GetTopicAttributes'],
      { ArnEquals: { 'aws:SourceArn': workspace.attrArn } },
      `arn:${Aws.PARTITION}:aps:${Aws.REGION}:${Aws.ACCOUNT_ID}:workspace/*`);
  }

  /**
   * Lets this account's CloudWatch alarms named `<alarmNamePrefix>...` publish
   * (their ALARM and OK notifications) to the topic: the same two grants as
   * AMP's, for the alarms' ARNs (topic and key policies alike).
   */
  private allowCloudWatchAlarms(): void {
    const alarms = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${this.alarmNamePrefix}*`;
    this.allowService('CloudWatchAlarms', CLOUDWATCH_PRINCIPAL, ['sns:Publish'], { ArnLike: { 'aws:SourceArn': alarms } }, alarms);
  }

  /**
   * The topic-policy statement `<sid>Publishes` (topicActions, the service on
   * behalf of sources matching `sourceCondition` in this account) and the
   * key-policy statement `<sid>Encrypts` (the key for this topic's messages,
   * on behalf of sources whose ARN is like `keySourceArn`).
   */
  private allowService(sid: string, service: string, topicActions: string[], sourceCondition: Record<string, object>,
    keySourceArn: string): void {
    const principal = new iam.ServicePrincipal(service);
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: `${sid}Publishes`,
      principals: [principal],
      actions: topicActions,
      resources: [this.topic.topicArn],
      conditions: { ...sourceCondition, StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }));
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: `${sid}Encrypts`,
      principals: [principal],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'aws:SourceArn': keySourceArn },
        StringEquals: {
          'aws:SourceAccount': Aws.ACCOUNT_ID,
          'kms:EncryptionContext:aws:sns:topicArn': this.topicArn,
        },
      },
    }));
  }
}
