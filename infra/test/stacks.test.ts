// Network, registry, data and observability stacks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { LOKI_RETENTION_DAYS, vpcResolver } from '../lib/config.js';
import { asArray, buildApp, only, resources, template, VPN_CONTEXT } from './helpers.js';

const { stacks } = buildApp();
const network = template(stacks.network);
const registry = template(stacks.registry);
const data = template(stacks.data);
const obs = template(stacks.observability);

describe('stacks are environment-agnostic', () => {
  it('no stack names an account or a region', () => {
    for (const s of [stacks.network, stacks.registry, stacks.data, stacks.observability, stacks.app]) {
      assert.equal(s.environment, 'aws://unknown-account/unknown-region', s.stackName);
    }
  });
  it('split by lifecycle and wired by props: app depends on the others, never the reverse', () => {
    const deps = (s: any) => s.dependencies.map((d: any) => d.stackName).sort();
    assert.deepEqual(deps(stacks.app), ['TychoData', 'TychoNetwork', 'TychoObservability', 'TychoRegistry']);
    assert.deepEqual(deps(stacks.observability), ['TychoNetwork', 'TychoRegistry']);
    assert.deepEqual(deps(stacks.data), []);
    assert.deepEqual(deps(stacks.network), []);
  });
});

describe('network', () => {
  it('VPC over 2 AZs with public and private-with-egress subnets', () => {
    network.resourceCountIs('AWS::EC2::VPC', 1);
    const subnets = resources(network, 'AWS::EC2::Subnet');
    assert.equal(subnets.length, 4);
    const publicSubnets = subnets.filter(([, s]) => s.Properties.MapPublicIpOnLaunch === true);
    assert.equal(publicSubnets.length, 2);
    const azs = new Set(subnets.map(([, s]) => JSON.stringify(s.Properties.AvailabilityZone)));
    assert.equal(azs.size, 2);
    assert.ok(resources(network, 'AWS::EC2::NatGateway').length >= 1, 'private subnets have egress');
  });
  it('flow logs of all traffic', () => {
    network.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });
  it('ECS cluster with Container Insights', () => {
    network.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: Match.anyValue() }] });
  });
});

describe('registry', () => {
  it('ECR repositories for tycho, Grafana and Loki: scan on push, immutable tags, lifecycle', () => {
    const repos = resources(registry, 'AWS::ECR::Repository');
    assert.deepEqual(repos.map(([, r]) => r.Properties.RepositoryName).sort(), ['tycho', 'tycho-grafana', 'tycho-loki']);
    for (const [, r] of repos) {
      assert.deepEqual(r.Properties.ImageScanningConfiguration, { ScanOnPush: true });
      assert.equal(r.Properties.ImageTagMutability, 'IMMUTABLE');
      const rules = JSON.parse(r.Properties.LifecyclePolicy.LifecyclePolicyText).rules;
      assert.ok(rules.some((x: any) => x.selection.tagStatus === 'untagged'));
      assert.ok(rules.some((x: any) => x.selection.countType === 'imageCountMoreThan'));
    }
  });
});

describe('data', () => {
  const queues = resources(data, 'AWS::SQS::Queue');
  const [dlqId] = only(queues.filter(([id]) => id.startsWith('DeadLetterQueue')), 'DLQ');
  const [, queue] = only(queues.filter(([id]) => id.startsWith('Queue')), 'queue');

  it('queue redrives to the DLQ after 3 receives', () => {
    assert.deepEqual(queue.Properties.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3,
    });
  });
  it('long polling 20 s, SSE on both queues', () => {
    assert.equal(queue.Properties.ReceiveMessageWaitTimeSeconds, 20);
    for (const [, q] of queues) assert.equal(q.Properties.SqsManagedSseEnabled, true);
  });
  it('TLS enforced on both queues', () => {
    const policies = resources(data, 'AWS::SQS::QueuePolicy');
    assert.equal(policies.length, 2);
    for (const [, p] of policies) {
      assert.ok(p.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny'
        && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    }
  });
  it('DynamoDB table: id/timestamp keys, on-demand, TTL on ttl, PITR, user-index GSI', () => {
    data.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }, { AttributeName: 'timestamp', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [{
        IndexName: 'user-index',
        KeySchema: [{ AttributeName: 'user_id', KeyType: 'HASH' }, { AttributeName: 'created_at', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'ALL' },
      }],
    });
  });
});

describe('observability: metrics and traces', () => {
  it('AMP workspace with the alert rules of grafana/alerts as a rule-groups namespace', () => {
    obs.resourceCountIs('AWS::APS::Workspace', 1);
    const rules = fs.readFileSync(path.join(__dirname, '..', '..', 'grafana', 'alerts', 'tycho.rules.yml'), 'utf8');
    const [, ns] = only(resources(obs, 'AWS::APS::RuleGroupsNamespace'), 'rule-groups namespace');
    assert.equal(ns.Properties.Data, rules);
    assert.match(rules, /alert: TychoDeadLetterQueueNotEmpty/);
    assert.deepEqual(ns.Properties.Workspace, { 'Fn::GetAtt': ['Workspace', 'Arn'] });
  });
  it('X-Ray Transaction Search, after the logs resource policy it needs', () => {
    const [, search] = only(resources(obs, 'AWS::XRay::TransactionSearchConfig'), 'TransactionSearchConfig');
    const [policyId, policy] = only(resources(obs, 'AWS::Logs::ResourcePolicy'), 'logs resource policy');
    assert.deepEqual(search.DependsOn, [policyId]);
    const doc = JSON.stringify(policy.Properties.PolicyDocument);
    assert.match(doc, /xray\.amazonaws\.com/);
    assert.match(doc, /logs:PutLogEvents/);
    assert.match(doc, /log-group:aws\/spans:\*/);
    const off = buildApp({ transactionSearch: 'false' });
    template(off.stacks.observability).resourceCountIs('AWS::XRay::TransactionSearchConfig', 0);
  });
});

describe('observability: where the alerts go', () => {
  const [topicId, topic] = only(resources(obs, 'AWS::SNS::Topic'), 'SNS topic');
  const [, topicPolicy] = only(resources(obs, 'AWS::SNS::TopicPolicy'), 'topic policy');
  const statements: any[] = topicPolicy.Properties.PolicyDocument.Statement;
  const amp = (s: any) => s.Principal?.Service === 'aps.amazonaws.com';

  it('the topic is encrypted with a rotated customer-managed key', () => {
    const [keyId, key] = only(resources(obs, 'AWS::KMS::Key'), 'KMS key');
    assert.deepEqual(topic.Properties.KmsMasterKeyId, { 'Fn::GetAtt': [keyId, 'Arn'] });
    assert.equal(key.Properties.EnableKeyRotation, true);
    assert.deepEqual(topicPolicy.Properties.Topics, [{ Ref: topicId }]);
  });

  it('the topic denies publishing without TLS', () => {
    assert.ok(statements.some((s) => s.Effect === 'Deny' && s.Principal === '*'
      && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
  });

  it("only this account's workspace may publish: aws:SourceArn and aws:SourceAccount", () => {
    const publish = only(statements.filter(amp), 'AMP statement in the topic policy');
    assert.equal(publish.Effect, 'Allow');
    assert.deepEqual(asArray(publish.Action).sort(), ['sns:GetTopicAttributes', 'sns:Publish']);
    assert.deepEqual(publish.Resource, { Ref: topicId });
    assert.deepEqual(publish.Condition, {
      ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['Workspace', 'Arn'] } },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
  });

  it("AMP may use the topic's key for this account's workspaces and this topic's messages only", () => {
    const [, key] = only(resources(obs, 'AWS::KMS::Key'), 'KMS key');
    const use = only<any>(key.Properties.KeyPolicy.Statement.filter(amp), 'AMP statement in the key policy');
    assert.equal(use.Effect, 'Allow');
    assert.deepEqual(asArray(use.Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey*']);
    assert.equal(topic.Properties.TopicName, 'tycho-alerts');
    assert.deepEqual(use.Condition.StringEquals, {
      'aws:SourceAccount': { Ref: 'AWS::AccountId' },
      // SNS's encryption context: the key serves this topic only, whatever else the service may encrypt
      'kms:EncryptionContext:aws:sns:topicArn': { 'Fn::Join': ['', [
        'arn:', { Ref: 'AWS::Partition' }, ':sns:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':tycho-alerts',
      ]] },
    });
    assert.deepEqual(use.Condition.ArnLike, { 'aws:SourceArn': { 'Fn::Join': ['', [
      'arn:', { Ref: 'AWS::Partition' }, ':aps:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workspace/*',
    ]] } });
  });

  // the CloudWatch alarms of the app stack (lib/alb-alarms.ts), named tycho-*, in this account
  const cloudwatch = (s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com';
  const alarmArns = { 'Fn::Join': ['', [
    'arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:tycho-*',
  ]] };

  it("this account's alarms named tycho-* may publish, and only them", () => {
    const publish = only<any>(statements.filter(cloudwatch), 'CloudWatch statement in the topic policy');
    assert.equal(publish.Effect, 'Allow');
    assert.deepEqual(asArray(publish.Action), ['sns:Publish']);
    assert.deepEqual(publish.Resource, { Ref: topicId });
    assert.deepEqual(publish.Condition, {
      ArnLike: { 'aws:SourceArn': alarmArns },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
    // another prefix, another pattern: the app stack names its alarms after the same prefix
    const staging = template(buildApp({ prefix: 'Staging' }).stacks.observability);
    assert.match(JSON.stringify(staging.toJSON()), /":alarm:staging-\*"/);
  });

  it("the alarms may use the topic's key for this topic's messages only", () => {
    const [, key] = only(resources(obs, 'AWS::KMS::Key'), 'KMS key');
    const use = only<any>(key.Properties.KeyPolicy.Statement.filter(cloudwatch), 'CloudWatch statement in the key policy');
    assert.equal(use.Effect, 'Allow');
    assert.deepEqual(asArray(use.Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey*']);
    assert.deepEqual(use.Condition, {
      ArnLike: { 'aws:SourceArn': alarmArns },
      StringEquals: {
        'aws:SourceAccount': { Ref: 'AWS::AccountId' },
        'kms:EncryptionContext:aws:sns:topicArn': { 'Fn::Join': ['', [
          'arn:', { Ref: 'AWS::Partition' }, ':sns:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':tycho-alerts',
        ]] },
      },
    });
  });

  it('the key policy grants no one else: the account (IAM policies decide), AMP and the alarms', () => {
    const [, key] = only(resources(obs, 'AWS::KMS::Key'), 'KMS key');
    const others = key.Properties.KeyPolicy.Statement.filter((s: any) => !amp(s) && !cloudwatch(s));
    const admin = only<any>(others, 'statement other than AMP and CloudWatch in the key policy');
    assert.deepEqual(admin.Principal, { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } });
  });

  it('the alert manager definition routes every alert to the topic, resolved ones included', () => {
    // The synthesized definition, with the topic ARN and the region put in as
    // placeholders; any other CloudFormation function in it fails here.
    const join = obs.toJSON().Resources.Workspace.Properties.AlertManagerDefinition['Fn::Join'];
    assert.equal(join[0], '');
    const text: string = join[1].map((part: any) => {
      if (typeof part === 'string') return part;
      if (part.Ref === topicId) return '<topic-arn>';
      if (part.Ref === 'AWS::Region') return '<region>';
      throw new Error(`unexpected value in the alert manager definition: ${JSON.stringify(part)}`);
    }).join('');
    // AMP's format: the Alertmanager configuration as a string under
    // alertmanager_config (a literal block, indented by two), nothing else.
    const lines = text.replace(/\n$/, '').split('\n');
    assert.equal(lines[0], 'alertmanager_config: |');
    assert.equal(lines[1], '  {', 'the block starts at indentation two');
    for (const line of lines.slice(1)) assert.ok(line.startsWith('  '), `line outside the block: ${line}`);
    // The block is JSON, which YAML parsers read as YAML: parse it back.
    const config = JSON.parse(lines.slice(1).map((l) => l.slice(2)).join('\n'));
    assert.deepEqual(config, {
      route: {
        receiver: 'sns',
        group_by: ['alertname', 'severity'],
        group_wait: '30s',
        group_interval: '5m',
        repeat_interval: '4h',
      },
      receivers: [{
        name: 'sns',
        sns_configs: [{ topic_arn: '<topic-arn>', sigv4: { region: '<region>' }, send_resolved: true }],
      }],
    });
  });

  it('the topic ARN is a stack output, for subscriptions added by hand', () => {
    obs.hasOutput('AlertsTopicArn', { Value: { Ref: topicId } });
  });

  it('no e-mail subscription unless alertEmails is given', () => {
    obs.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('e-mail subscriptions from alertEmails: a comma-separated list (-c) or a list (cdk.json)', () => {
    for (const alertEmails of [' oncall@example.com, team@example.org,', ['oncall@example.com', 'team@example.org']]) {
      const t = template(buildApp({ alertEmails }).stacks.observability);
      const [id] = only(resources(t, 'AWS::SNS::Topic'), 'SNS topic');
      const subs = resources(t, 'AWS::SNS::Subscription').map(([, s]) => s.Properties);
      assert.deepEqual(subs.map((s) => s.Endpoint).sort(), ['oncall@example.com', 'team@example.org'], JSON.stringify(alertEmails));
      for (const s of subs) {
        assert.equal(s.Protocol, 'email');
        assert.deepEqual(s.TopicArn, { Ref: id });
      }
    }
  });

  it('a bad address in alertEmails fails synth, naming it', () => {
    for (const bad of ['oncall', 'oncall@example', 'on call@example.com', 'a@example.com;b@example.com']) {
      assert.throws(() => buildApp({ alertEmails: `team@example.org,${bad}` }),
        new RegExp(`context alertEmails: not an e-mail address: ${JSON.stringify(bad).replace(/[.]/g, '\\.')}`), bad);
    }
  });
});

describe('observability: Loki storage', () => {
  const buckets = resources(obs, 'AWS::S3::Bucket');
  const [lokiId, loki] = only(buckets.filter(([id]) => id.startsWith('LokiBucket')), 'Loki bucket');
  it('Loki bucket: encrypted, public access blocked, lifecycle, access-logged', () => {
    assert.ok(loki.Properties.BucketEncryption.ServerSideEncryptionConfiguration.length > 0);
    assert.deepEqual(loki.Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    const rules = loki.Properties.LifecycleConfiguration.Rules;
    assert.ok(rules.some((r: any) => r.ExpirationInDays === 100 && r.Status === 'Enabled'));
    assert.ok(rules.some((r: any) => r.AbortIncompleteMultipartUpload));
    assert.ok(loki.Properties.LoggingConfiguration.DestinationBucketName);
  });
  it('every bucket enforces TLS', () => {
    for (const [id] of buckets) {
      const [, policy] = only(resources(obs, 'AWS::S3::BucketPolicy').filter(([, p]) => p.Properties.Bucket.Ref === id), `policy of ${id}`);
      assert.ok(policy.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny'
        && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'), `${id} denies non-TLS`);
    }
    assert.ok(lokiId);
  });
  it('EFS: encrypted, access points for Grafana and Loki', () => {
    obs.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true });
    const paths = resources(obs, 'AWS::EFS::AccessPoint').map(([, a]) => a.Properties.RootDirectory.Path).sort();
    assert.deepEqual(paths, ['/grafana', '/loki']);
  });
  it('Loki reads its bucket name and region from the task definition', () => {
    const loki = resources(obs, 'AWS::ECS::TaskDefinition')
      .map(([, d]) => d.Properties.ContainerDefinitions[0]).find((c: any) => c.Name === 'loki');
    const names = loki.Environment.map((e: any) => e.Name).sort();
    assert.deepEqual(names, ['AWS_REGION', 'LOKI_S3_BUCKET']);
  });
});

describe('observability: Loki and Grafana behind the internal ALB', () => {
  const [, alb] = only(resources(obs, 'AWS::ElasticLoadBalancingV2::LoadBalancer'), 'internal ALB');
  const albSgId = alb.Properties.SecurityGroups[0]['Fn::GetAtt'][0];

  it('internal ALB with host-based rules for loki.<zone> and grafana.<zone>', () => {
    assert.equal(alb.Properties.Scheme, 'internal');
    const hosts = resources(obs, 'AWS::ElasticLoadBalancingV2::ListenerRule')
      .map(([, r]) => r.Properties.Conditions[0].HostHeaderConfig.Values[0]).sort();
    assert.deepEqual(hosts, ['grafana.tycho.internal', 'loki.tycho.internal']);
    obs.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      DefaultActions: [Match.objectLike({ Type: 'fixed-response' })],
    });
  });

  it('the internal ALB admits no CIDR: tycho tasks on 80, Grafana on 3100, nothing else (Loki has no auth)', () => {
    const [, sg] = only(resources(obs, 'AWS::EC2::SecurityGroup').filter(([id]) => id === albSgId), 'ALB SG');
    assert.equal(sg.Properties.SecurityGroupIngress, undefined, 'no inline (CIDR) ingress');
    const ingressTo = (t: any, sgRef: unknown) => resources(t, 'AWS::EC2::SecurityGroupIngress')
      .filter(([, r]) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(sgRef))
      .map(([, r]) => { assert.equal(r.Properties.CidrIp, undefined); return r.Properties; });
    const grafanaSvc = only(resources(obs, 'AWS::ECS::Service').filter(([id]) => /Grafana/.test(id)), 'Grafana service')[1];
    const grafanaSg = grafanaSvc.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0];
    assert.deepEqual(ingressTo(obs, { 'Fn::GetAtt': [albSgId, 'GroupId'] })
      .map((r: any) => [r.SourceSecurityGroupId, r.FromPort, r.ToPort]), [[grafanaSg, 3100, 3100]]);
    // tycho's rule lives in the app stack (it names the tasks' group)
    const appT = template(stacks.app);
    const [taskSgId] = only(resources(appT, 'AWS::EC2::SecurityGroup')
      .filter(([, r]) => /tycho tasks/.test(r.Properties.GroupDescription)), 'task SG');
    const fromTasks = resources(appT, 'AWS::EC2::SecurityGroupIngress')
      .filter(([, r]) => JSON.stringify(r.Properties.GroupId).includes('InternalAlbSecurityGroup'))
      .map(([, r]) => [r.Properties.SourceSecurityGroupId, r.Properties.FromPort, r.Properties.ToPort, r.Properties.CidrIp]);
    assert.deepEqual(fromTasks, [[{ 'Fn::GetAtt': [taskSgId, 'GroupId'] }, 80, 80, undefined]]);
  });

  it('with the Client VPN, its group is admitted on 80 and 3100 (still no CIDR)', () => {
    const vpn = template(buildApp(VPN_CONTEXT).stacks.observability);
    const [vpnSgId] = only(resources(vpn, 'AWS::EC2::SecurityGroup')
      .filter(([id]) => /ClientVpn/.test(id)), 'VPN SG');
    const albSg = only(resources(vpn, 'AWS::ElasticLoadBalancingV2::LoadBalancer'), 'ALB')[1]
      .Properties.SecurityGroups[0]['Fn::GetAtt'][0];
    const rules = resources(vpn, 'AWS::EC2::SecurityGroupIngress')
      .filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === albSg)
      .map(([, r]) => [r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0], r.Properties.FromPort, r.Properties.CidrIp]);
    assert.deepEqual(rules.filter(([src]) => src === vpnSgId).map(([, port]) => port).sort(), [3100, 80]);
    assert.ok(rules.every(([, , cidr]) => cidr === undefined));
  });

  it('port 80 forwards only the push API and /ready to Loki; port 3100 (Grafana, VPN) all of it', () => {
    const lokiRule = only(resources(obs, 'AWS::ElasticLoadBalancingV2::ListenerRule')
      .filter(([, r]) => JSON.stringify(r.Properties.Conditions).includes('loki.tycho.internal')), 'Loki rule')[1];
    const paths = lokiRule.Properties.Conditions.find((c: any) => c.Field === 'path-pattern');
    assert.deepEqual(paths.PathPatternConfig.Values, ['/loki/api/v1/push', '/ready']);
    const listeners = resources(obs, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Properties);
    assert.deepEqual(listeners.map((l: any) => l.Port).sort(), [3100, 80]);
    const query = listeners.find((l: any) => l.Port === 3100);
    assert.deepEqual(query.DefaultActions[0].TargetGroupArn, lokiRule.Properties.Actions[0].TargetGroupArn);
    const grafana = resources(obs, 'AWS::ECS::TaskDefinition')
      .map(([, d]) => d.Properties.ContainerDefinitions[0]).find((c: any) => c.Name === 'grafana');
    assert.equal(grafana.Environment.find((e: any) => e.Name === 'LOKI_URL').Value, 'http://loki.tycho.internal:3100');
  });

  it('Fargate services in private subnets; Loki and Grafana accept traffic only from the internal ALB', () => {
    const services = resources(obs, 'AWS::ECS::Service');
    assert.equal(services.length, 2);
    for (const [id, svc] of services) {
      const net = svc.Properties.NetworkConfiguration.AwsvpcConfiguration;
      assert.equal(net.AssignPublicIp, 'DISABLED', id);
      assert.match(JSON.stringify(net.Subnets), /privateSubnet/, id);
      const sgId = net.SecurityGroups[0]['Fn::GetAtt'][0];
      const [, sg] = only(resources(obs, 'AWS::EC2::SecurityGroup').filter(([x]) => x === sgId), `${id} SG`);
      assert.equal(sg.Properties.SecurityGroupIngress, undefined, `${id}: no CIDR ingress`);
      const ingress = resources(obs, 'AWS::EC2::SecurityGroupIngress')
        .filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === sgId);
      assert.ok(ingress.length >= 1, id);
      for (const [, r] of ingress) {
        assert.deepEqual(r.Properties.SourceSecurityGroupId, { 'Fn::GetAtt': [albSgId, 'GroupId'] }, `${id} ingress from the internal ALB`);
      }
    }
  });

  it('private zone records loki.<zone> and grafana.<zone> alias the internal ALB', () => {
    obs.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'tycho.internal.', VPCs: [Match.anyValue()] });
    const names = resources(obs, 'AWS::Route53::RecordSet').map(([, r]) => r.Properties.Name).sort();
    assert.deepEqual(names, ['grafana.tycho.internal.', 'loki.tycho.internal.']);
  });

  it('Grafana admin password comes from Secrets Manager, not the environment', () => {
    const grafana = resources(obs, 'AWS::ECS::TaskDefinition')
      .map(([, d]) => d.Properties.ContainerDefinitions[0]).find((c: any) => c.Name === 'grafana');
    assert.deepEqual(grafana.Secrets.map((s: any) => s.Name), ['GF_SECURITY_ADMIN_PASSWORD']);
    assert.ok(!grafana.Environment.some((e: any) => /PASSWORD/.test(e.Name)));
  });
});

describe('observability: Grafana and Loki images tagged apart from tycho', () => {
  const tags = { grafanaImageTag: 'tree-grafana', lokiImageTag: 'tree-loki' };
  const obsJson = (imageTag: string) => JSON.stringify(template(buildApp({ ...tags, imageTag }).stacks.observability).toJSON());
  it('a new tycho tag leaves the observability stack (Loki and Grafana task definitions) unchanged', () => {
    const a = obsJson('release-1');
    assert.equal(obsJson('release-2'), a);
    assert.ok(!a.includes('release-1'));
  });
  it('the task definitions use grafanaImageTag and lokiImageTag', () => {
    const t = template(buildApp(tags).stacks.observability);
    const images = Object.fromEntries(resources(t, 'AWS::ECS::TaskDefinition')
      .map(([, d]) => d.Properties.ContainerDefinitions[0]).map((c: any) => [c.Name, JSON.stringify(c.Image)]));
    assert.match(images.grafana, /:tree-grafana"/);
    assert.match(images.loki, /:tree-loki"/);
  });
});

describe('observability: Client VPN', () => {
  it('is created only with both certificate ARNs from context', () => {
    obs.resourceCountIs('AWS::EC2::ClientVpnEndpoint', 0);
    assert.throws(() => buildApp({ vpnServerCertificateArn: VPN_CONTEXT.vpnServerCertificateArn }), /give both/);
  });
  it('mutual TLS, split tunnel, VPC resolver, associated with the private subnets', () => {
    const vpn = template(buildApp(VPN_CONTEXT).stacks.observability);
    vpn.hasResourceProperties('AWS::EC2::ClientVpnEndpoint', {
      AuthenticationOptions: [{
        Type: 'certificate-authentication',
        MutualAuthentication: { ClientRootCertificateChainArn: VPN_CONTEXT.vpnClientCertificateArn },
      }],
      ServerCertificateArn: VPN_CONTEXT.vpnServerCertificateArn,
      SplitTunnel: true,
      DnsServers: ['10.0.0.2'],
      ConnectionLogOptions: Match.objectLike({ Enabled: true }),
    });
    vpn.resourceCountIs('AWS::EC2::ClientVpnTargetNetworkAssociation', 2);
    vpn.hasResourceProperties('AWS::EC2::ClientVpnAuthorizationRule', { TargetNetworkCidr: Match.anyValue() });
  });
  it('VPC resolver address is base + 2', () => {
    assert.equal(vpcResolver('10.0.0.0/16'), '10.0.0.2');
    assert.equal(vpcResolver('172.31.16.0/20'), '172.31.16.2');
  });
});

describe('configuration', () => {
  it('rejects bad context values with the key in the message', () => {
    assert.throws(() => buildApp({ logRetentionDays: 31 }), /logRetentionDays/);
    assert.throws(() => buildApp({ appDesiredCount: 4, appMaxCount: 2 }), /appMaxCount/);
    assert.throws(() => buildApp({ zoneName: 'not a zone' }), /zoneName/);
    assert.throws(() => buildApp({ transactionSearch: 'yes' }), /transactionSearch/);
  });
  it('refuses at synth the values CloudFormation or the running service would only fail on well into a deploy', () => {
    // each was accepted before, and failed (or deployed a broken service) after the earlier stacks deployed
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ natGateways: 0 }, /context natGateways: 0 is not a whole number 1 to 2 \(the private subnets reach ECR/],
      [{ natGateways: '1.5' }, /natGateways: 1\.5 is not a whole number/],
      [{ appDesiredCount: 0 }, /appDesiredCount: 0 is not a whole number at least 1/],
      [{ appMaxCount: '2.5' }, /appMaxCount: 2\.5 is not a whole number/],
      [{ scaleCpuPercent: 150 }, /scaleCpuPercent: 150 is not a whole number 1 to 100/],
      [{ scaleCpuPercent: 0 }, /scaleCpuPercent: 0/],
      [{ scaleRequestsPerTarget: 0 }, /scaleRequestsPerTarget: 0 is not a whole number at least 1/],
      [{ lokiObjectExpirationDays: 7 }, /lokiObjectExpirationDays: 7 is not a whole number at least 31 \(longer than Loki's own 30-day retention/],
      [{ imageTag: 'has space' }, /context imageTag: not an image tag: "has space"/],
      [{ grafanaImageTag: 'a:b' }, /context grafanaImageTag: not an image tag/],
      [{ lokiImageTag: '-x' }, /context lokiImageTag: not an image tag/],
      [{ appCertificateArn: 'my-cert' }, /context appCertificateArn: not an ACM certificate ARN: "my-cert"/],
      [{ ...VPN_CONTEXT, vpnServerCertificateArn: 'arn:aws:iam::111111111111:server-certificate/x' },
        /context vpnServerCertificateArn: not an ACM certificate ARN/],
      [{ ...VPN_CONTEXT, vpnClientCidr: '10.0.4.0/22' }, /vpnClientCidr: 10\.0\.4\.0\/22 overlaps vpcCidr 10\.0\.0\.0\/16/],
      [{ ...VPN_CONTEXT, vpcCidr: '10.100.0.0/16' }, /vpnClientCidr: 10\.100\.0\.0\/22 overlaps vpcCidr 10\.100\.0\.0\/16/],
      [{ ...VPN_CONTEXT, vpnClientCidr: '10.100.0.0/24' }, /vpnClientCidr: 10\.100\.0\.0\/24 must be a \/12 to \/22 range/],
      [{ ...VPN_CONTEXT, vpnClientCidr: '10.100.0/22' }, /vpnClientCidr: not an IPv4 CIDR/],
    ];
    for (const [context, message] of refused) assert.throws(() => buildApp(context), message, JSON.stringify(context));
    // the values these bounds still admit
    const ok = buildApp({ ...VPN_CONTEXT, natGateways: 2, appDesiredCount: 1, appMaxCount: 1, scaleCpuPercent: 100,
      lokiObjectExpirationDays: 31, imageTag: 'abc_1.2-base-9f', vpnClientCidr: '172.16.0.0/12',
      appCertificateArn: 'arn:aws-us-gov:acm:us-gov-west-1:111111111111:certificate/0a1b-2c' }).stacks.config;
    assert.equal(ok.natGateways, 2);
    assert.equal(ok.lokiObjectExpirationDays, 31);
  });
  it("LOKI_RETENTION_DAYS is grafana/loki/loki.yaml's retention_period", () => {
    const yaml = fs.readFileSync(path.join(__dirname, '..', '..', 'grafana', 'loki', 'loki.yaml'), 'utf8');
    const m = /^\s*retention_period:\s*(\d+)([hd])\s*$/m.exec(yaml);
    assert.ok(m, 'loki.yaml sets limits_config.retention_period in hours or days');
    assert.equal(m[2] === 'h' ? Number(m[1]) / 24 : Number(m[1]), LOKI_RETENTION_DAYS);
  });
  it('refuses a task size Fargate does not run, at synth time', () => {
    // appCpu 4096 with the default 1024 MiB: ECS would refuse it only at deploy
    assert.throws(() => buildApp({ appCpu: 4096 }), /appMemoryMiB: 1024 MiB is not valid on Fargate with appCpu 4096; valid: 8192 to 30720 in steps of 1024 MiB/);
    assert.throws(() => buildApp({ appCpu: 256, appMemoryMiB: 1536 }), /valid: 512, 1024, 2048 MiB/);
    assert.throws(() => buildApp({ appCpu: 8192, appMemoryMiB: 18432 }), /appMemoryMiB/);
    assert.throws(() => buildApp({ appCpu: 768 }), /appCpu: 768 is not a Fargate task size/);
    assert.equal(buildApp({ appCpu: 4096, appMemoryMiB: 8192 }).stacks.config.appMemoryMiB, 8192);
    assert.equal(buildApp({ appCpu: 256, appMemoryMiB: 512 }).stacks.config.appCpu, 256);
  });
  it('an empty or blank context string is unset: the default applies (a CI variable that is not defined)', () => {
    const { config } = buildApp({
      appCertificateArn: '', alertEmails: ' ', vpnServerCertificateArn: '', vpnClientCertificateArn: '  ',
      grafanaImageTag: '', lokiImageTag: ' ', prefix: ' ', appCpu: '', transactionSearch: ' ',
    }).stacks;
    assert.equal(config.appCertificateArn, undefined);
    assert.deepEqual(config.alertEmails, []);
    assert.equal(config.vpnServerCertificateArn, undefined);
    assert.equal(config.vpnClientCertificateArn, undefined);
    assert.equal(config.grafanaImageTag, config.imageTag);
    assert.equal(config.lokiImageTag, config.imageTag);
    assert.equal(config.prefix, 'Tycho');
    assert.equal(config.appCpu, 512);
    assert.equal(config.transactionSearch, true);
    assert.throws(() => buildApp({ imageTag: ' ' }), /imageTag: required/);
  });
  it('gateway endpoints keep S3 and DynamoDB traffic off the NAT gateway', () => {
    const services = resources(network, 'AWS::EC2::VPCEndpoint').map(([, e]) => JSON.stringify(e.Properties.ServiceName));
    assert.equal(services.length, 2);
    assert.ok(services.some((s) => s.includes('.s3')) && services.some((s) => s.includes('.dynamodb')));
  });
});
