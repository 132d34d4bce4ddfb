// The tycho service: load balancer, task definition, timings, scaling, IAM,
// security groups. Timing relations are computed from the template itself,
// so changing one number without the other fails here.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { asArray, buildApp, only, resources, template } from './helpers.js';

const { stacks } = buildApp({ imageTag: 'abc1234' });
const t = template(stacks.app);
const [, taskDef] = only(resources(t, 'AWS::ECS::TaskDefinition'), 'task definition');
const containers = taskDef.Properties.ContainerDefinitions;
const tycho = only<any>(containers, 'container (no sidecar: tycho exports its own telemetry)');
const env: Record<string, unknown> = Object.fromEntries(tycho.Environment.map((e: any) => [e.Name, e.Value]));
const [, targetGroup] = only(resources(t, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'target group');
const [albId, alb] = only(resources(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer'), 'load balancer');
const [, service] = only(resources(t, 'AWS::ECS::Service'), 'ECS service');

function attr(list: { Key: string; Value: string }[], key: string): number {
  const a = list.find((x) => x.Key === key);
  assert.ok(a, `attribute ${key} is set`);
  return Number(a.Value);
}

describe('tycho service: load balancer and health', () => {
  it('public ALB, health check on /health', () => {
    assert.equal(alb.Properties.Scheme, 'internet-facing');
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
      Port: 8080,
      TargetType: 'ip',
    });
  });

  it('ALB access logs are on', () => {
    assert.equal(alb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'access_logs.s3.enabled')?.Value, 'true');
  });

  it('HTTP listener forwards to tycho without a certificate; HTTPS + redirect with one', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const https = buildApp({ appCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/app-test' });
    const h = template(https.stacks.app);
    h.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/app-test' }],
    });
    h.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect' })],
    });
  });

  it('the ALB answers 404 itself to /health?deep (the deep health check makes AWS calls)', () => {
    for (const tpl of [t, template(buildApp({ appCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/app-test' }).stacks.app)]) {
      const rules = resources(tpl, 'AWS::ElasticLoadBalancingV2::ListenerRule');
      const [, rule] = only(rules, 'listener rule');
      // only on /health: `deep` on any other path is the app's business
      assert.deepEqual(rule.Properties.Conditions, [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/health', '/health/'] } },
        { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'deep', Value: '*' }] } },
      ]);
      assert.equal(rule.Properties.Actions[0].Type, 'fixed-response');
      assert.equal(rule.Properties.Actions[0].FixedResponseConfig.StatusCode, '404');
      // on the listener that forwards to tycho (HTTPS when there is a certificate)
      const [listenerId, listener] = only(resources(tpl, 'AWS::ElasticLoadBalancingV2::Listener')
        .filter(([, l]) => l.Properties.DefaultActions[0].Type === 'forward'), 'forwarding listener');
      assert.deepEqual(rule.Properties.ListenerArn, { Ref: listenerId });
      assert.ok(listener);
    }
  });

  it('container health check runs the tycho binary itself (no curl in the image)', () => {
    assert.deepEqual(tycho.HealthCheck.Command,
      ['CMD', '/usr/local/bin/tycho', 'health', '--url', 'http://127.0.0.1:8080/health']);
  });
});

describe('tycho service: shutdown and keep-alive timings', () => {
  const drain = Number(env.TYCHO_DRAIN_TIMEOUT);
  const handler = Number(env.TYCHO_HANDLER_TIMEOUT);
  const keepAlive = Number(env.TYCHO_KEEPALIVE_TIMEOUT);

  it('tycho gets its drain, handler and keep-alive timeouts from the task definition', () => {
    assert.equal(drain, 25);
    assert.equal(handler, 30);
    assert.equal(keepAlive, 75);
  });

  // ECS deregisters the target, waits the deregistration delay (the ALB lets requests in
  // flight finish, then cuts them), and only then sends SIGTERM.
  it('ALB deregistration delay > TYCHO_HANDLER_TIMEOUT (the ALB never cuts a running request)', () => {
    const delay = attr(targetGroup.Properties.TargetGroupAttributes, 'deregistration_delay.timeout_seconds');
    assert.ok(delay > handler, `deregistration delay ${delay}s must exceed the handler timeout ${handler}s`);
    assert.equal(delay, 35);
  });

  it('ALB idle timeout < TYCHO_KEEPALIVE_TIMEOUT', () => {
    const idle = attr(alb.Properties.LoadBalancerAttributes, 'idle_timeout.timeout_seconds');
    assert.ok(idle < keepAlive, `ALB idle timeout ${idle}s must be below tycho's keep-alive ${keepAlive}s`);
  });

  it('ECS stopTimeout > TYCHO_DRAIN_TIMEOUT (and within Fargate\'s 120 s)', () => {
    assert.ok(tycho.StopTimeout > drain, `stopTimeout ${tycho.StopTimeout}s must exceed the drain timeout ${drain}s`);
    assert.ok(tycho.StopTimeout <= 120);
  });
});

describe('tycho service: deployment and scaling', () => {
  it('deployment circuit breaker with rollback, private subnets, no public IP', () => {
    assert.deepEqual(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker, { Enable: true, Rollback: true });
    assert.equal(service.Properties.DeploymentConfiguration.MinimumHealthyPercent, 100);
    assert.equal(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED');
    assert.equal(service.Properties.LaunchType, 'FARGATE');
  });

  it('no DesiredCount on the service: a deploy keeps the autoscaled count (minCapacity governs)', () => {
    assert.equal(service.Properties.DesiredCount, undefined);
  });

  it('target tracking on CPU and on ALB requests per target', () => {
    const types = resources(t, 'AWS::ApplicationAutoScaling::ScalingPolicy')
      .map(([, p]) => p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType)
      .sort();
    assert.deepEqual(types, ['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
  });

  it('requests per target: 6000 a minute (100 req/s per task), not a trivial load', () => {
    const [, policy] = only(resources(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').filter(([, p]) =>
      p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType
        === 'ALBRequestCountPerTarget'), 'request-count policy');
    assert.equal(policy.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue, 6000);
  });

  it('imageTag is required: no `latest` fallback (the repositories are immutable)', () => {
    assert.throws(() => buildApp({ imageTag: undefined }), /context imageTag: required/);
  });

  it('image comes from the registry stack at the tag given as context', () => {
    const image = JSON.stringify(tycho.Image);
    assert.match(image, /TychoRegistry/);
    assert.match(image, /:abc1234"/);
  });
});

describe('tycho service: load balancer alarms (what tycho\'s metrics cannot see)', () => {
  const alarms = Object.fromEntries(resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => [a.Properties.AlarmName, a.Properties]));
  const topic = /TychoObservability.*AlertsTopic/;
  const lbFullName = { 'Fn::GetAtt': [albId, 'LoadBalancerFullName'] };

  it('two alarms, both notifying the alerts topic on ALARM and on OK', () => {
    assert.deepEqual(Object.keys(alarms).sort(), ['tycho-alb-5xx-ratio', 'tycho-alb-no-healthy-targets']);
    for (const a of Object.values<any>(alarms)) {
      assert.equal(a.AlarmActions.length, 1);
      assert.match(JSON.stringify(a.AlarmActions[0]), topic);
      assert.deepEqual(a.OKActions, a.AlarmActions);
      assert.match(a.AlarmDescription, /^critical: /);
    }
  });

  it('no healthy target: HealthyHostCount of tycho\'s target group below 1 for 3 minutes, no data counting as none', () => {
    const a = alarms['tycho-alb-no-healthy-targets'];
    assert.equal(a.Namespace, 'AWS/ApplicationELB');
    assert.equal(a.MetricName, 'HealthyHostCount');
    assert.equal(a.Statistic, 'Minimum');
    assert.equal(a.Period, 60);
    assert.equal(a.ComparisonOperator, 'LessThanThreshold');
    assert.equal(a.Threshold, 1);
    assert.equal(a.EvaluationPeriods, 3);
    assert.equal(a.TreatMissingData, 'breaching');
    const [tgId] = only(resources(t, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'target group');
    assert.deepEqual(a.Dimensions.find((d: any) => d.Name === 'TargetGroup').Value, { 'Fn::GetAtt': [tgId, 'TargetGroupFullName'] });
    assert.ok(a.Dimensions.some((d: any) => d.Name === 'LoadBalancer'));
  });

  it('ALB-generated 5xx over 5 % of this ALB\'s requests for two 5-minute periods', () => {
    const a = alarms['tycho-alb-5xx-ratio'];
    assert.equal(a.ComparisonOperator, 'GreaterThanThreshold');
    assert.equal(a.Threshold, 5);
    assert.equal(a.EvaluationPeriods, 2);
    assert.equal(a.DatapointsToAlarm, 2);
    assert.equal(a.TreatMissingData, 'notBreaching');
    const byId = Object.fromEntries(a.Metrics.map((m: any) => [m.Id, m]));
    const expr = only<any>(a.Metrics.filter((m: any) => m.Expression), 'expression');
    assert.equal(expr.Expression, 'IF(requests > 0, 100 * FILL(elb5xx, 0) / requests, 0)');
    assert.equal(expr.ReturnData, true);
    for (const [id, name] of [['elb5xx', 'HTTPCode_ELB_5XX_Count'], ['requests', 'RequestCount']]) {
      const stat = byId[id].MetricStat;
      assert.equal(stat.Metric.Namespace, 'AWS/ApplicationELB');
      assert.equal(stat.Metric.MetricName, name);
      assert.deepEqual(stat.Metric.Dimensions, [{ Name: 'LoadBalancer', Value: lbFullName }]);
      assert.equal(stat.Stat, 'Sum');
      assert.equal(stat.Period, 300);
    }
  });

  it('another prefix names the alarms after it (the topic admits <prefix>-* alarms only)', () => {
    const staging = template(buildApp({ prefix: 'Staging' }).stacks.app);
    const names = resources(staging, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName).sort();
    assert.deepEqual(names, ['staging-alb-5xx-ratio', 'staging-alb-no-healthy-targets']);
  });
});

describe('tycho container: hardening', () => {
  it('read-only root file system with a writable /tmp volume, non-root user', () => {
    assert.equal(tycho.ReadonlyRootFilesystem, true);
    assert.deepEqual(tycho.MountPoints, [{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' }]);
    assert.ok(taskDef.Properties.Volumes.some((v: any) => v.Name === 'tmp'));
    assert.equal(env.TYCHO_DATA_DIR, '/tmp');
    assert.ok(tycho.User && !/^(root|0)(:|$)/.test(tycho.User), `user ${tycho.User} is not root`);
  });

  it('logs to CloudWatch (awslogs, non-blocking with an explicit buffer), listens on 8080', () => {
    assert.equal(tycho.LogConfiguration.LogDriver, 'awslogs');
    assert.equal(tycho.LogConfiguration.Options.mode, 'non-blocking');
    assert.ok(tycho.LogConfiguration.Options['max-buffer-size'], 'max-buffer-size is set');
    assert.deepEqual(tycho.PortMappings.map((p: any) => p.ContainerPort), [8080]);
  });
});

describe('tycho container: environment wired from the other stacks', () => {
  const ref = (v: unknown) => JSON.stringify(v);
  it('traces: parent-based ratio sampling, 10 % by default, configurable', () => {
    assert.equal(env.OTEL_TRACES_SAMPLER, 'parentbased_traceidratio');
    assert.equal(env.OTEL_TRACES_SAMPLER_ARG, '0.1');
    const custom = template(buildApp({ traceSampleRatio: '0.25' }).stacks.app);
    assert.match(JSON.stringify(custom.toJSON()), /"OTEL_TRACES_SAMPLER_ARG","Value":"0.25"/);
    assert.throws(() => buildApp({ traceSampleRatio: '2' }), /traceSampleRatio/);
  });
  it('TYCHO_WORKERS: one per vCPU of the task (Fargate shows more CPUs than it gives)', () => {
    assert.equal(env.TYCHO_WORKERS, '1'); // appCpu 512
    for (const [cpu, mem, workers] of [[1024, 2048, '1'], [2048, 4096, '2'], [4096, 8192, '4']] as const) {
      const s = template(buildApp({ appCpu: cpu, appMemoryMiB: mem }).stacks.app);
      assert.match(JSON.stringify(s.toJSON()), new RegExp(`"Name":"TYCHO_WORKERS","Value":"${workers}"`));
    }
  });
  it('backend and service name', () => {
    assert.equal(env.TYCHO_AWS_BACKEND, 'aws');
    assert.equal(env.OTEL_SERVICE_NAME, 'tycho');
    assert.equal(env.TYCHO_LISTEN, '0.0.0.0:8080');
    assert.equal(env.TYCHO_ADMIN_LISTEN, '127.0.0.1:9090');
    assert.deepEqual(env.AWS_REGION, { Ref: 'AWS::Region' });
  });
  it('the ALB (anywhere in the VPC) is the only trusted proxy for X-Forwarded-For', () => {
    assert.match(ref(env.TYCHO_TRUSTED_PROXIES), /TychoNetwork.*Vpc.*CidrBlock/);
  });
  it('queue URL and table name from the data stack', () => {
    assert.match(ref(env.SQS_MESSAGE_QUEUE_URL), /TychoData.*RefQueue/);
    assert.match(ref(env.SQS_DEAD_LETTER_QUEUE_URL), /TychoData.*RefDeadLetterQueue/);
    assert.match(ref(env.DYNAMODB_APP_TABLE), /TychoData.*RefTable/);
  });
  it('AMP remote-write URL = workspace endpoint + api/v1/remote_write', () => {
    assert.match(ref(env.TYCHO_REMOTE_WRITE_URL), /TychoObservability.*WorkspacePrometheusEndpoint.*"api\/v1\/remote_write"/);
  });
  it('X-Ray OTLP endpoint of the stack region', () => {
    assert.deepEqual(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      { 'Fn::Join': ['', ['https://xray.', { Ref: 'AWS::Region' }, '.amazonaws.com/v1/traces']] });
  });
  it('Loki push URL through the private zone', () => {
    assert.equal(env.TYCHO_LOKI_URL, 'http://loki.tycho.internal/loki/api/v1/push');
  });
});

describe('tycho task role: least privilege', () => {
  const policies = resources(t, 'AWS::IAM::Policy');
  const taskRoleId = taskDef.Properties.TaskRoleArn['Fn::GetAtt'][0];
  const [, taskPolicy] = only(policies.filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === taskRoleId)), 'task role policy');
  const statements: any[] = taskPolicy.Properties.PolicyDocument.Statement;
  const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
  const actions = (s: any) => asArray<string>(s.Action).slice().sort();

  it('exactly the SQS actions on its queue (and read-only depth of the DLQ, found by name)', () => {
    assert.deepEqual(actions(bySid.Queue), ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage',
      'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage']);
    assert.match(JSON.stringify(bySid.Queue.Resource), /TychoData.*Queue4A7E3555Arn/);
    // the consumer resolves the DLQ named in the RedrivePolicy with GetQueueUrl (server/lua/consumer.c)
    assert.deepEqual(actions(bySid.DeadLetterQueueDepth), ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl']);
    assert.match(JSON.stringify(bySid.DeadLetterQueueDepth.Resource), /DeadLetterQueue.*Arn/);
  });

  it('exactly the DynamoDB actions routes/ uses, on its table only', () => {
    assert.deepEqual(actions(bySid.Table), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const res = asArray(bySid.Table.Resource).map((r) => JSON.stringify(r));
    assert.equal(res.length, 1);
    assert.match(res[0], /Table.*Arn/);
  });

  it('aps:RemoteWrite on its workspace only', () => {
    assert.deepEqual(actions(bySid.RemoteWrite), ['aps:RemoteWrite']);
    assert.match(JSON.stringify(bySid.RemoteWrite.Resource), /TychoObservability.*WorkspaceArn/);
  });

  it('only the X-Ray write actions need Resource "*"; no statement has a wildcard action', () => {
    assert.deepEqual(Object.keys(bySid).sort(), ['DeadLetterQueueDepth', 'Queue', 'RemoteWrite', 'Table', 'XRayOtlp']);
    for (const s of statements) {
      for (const a of asArray<string>(s.Action)) assert.ok(!a.includes('*'), `wildcard action ${a}`);
      if (s.Sid === 'XRayOtlp') {
        assert.deepEqual(actions(s), ['xray:PutSpans', 'xray:PutSpansForIndexing', 'xray:PutTraceSegments']);
      } else {
        for (const r of asArray(s.Resource)) assert.notEqual(r, '*', `statement ${s.Sid} is scoped to resource ARNs`);
      }
    }
  });

  it('no managed policies on any role of any stack (the original attached *FullAccess)', () => {
    for (const stack of [stacks.network, stacks.registry, stacks.data, stacks.observability, stacks.app]) {
      for (const [id, role] of resources(template(stack), 'AWS::IAM::Role')) {
        const managed = JSON.stringify(role.Properties.ManagedPolicyArns ?? []);
        assert.doesNotMatch(managed, /FullAccess/, `${stack.stackName}/${id}`);
        if (!id.startsWith('CustomVpcRestrictDefaultSG')) {
          assert.equal(managed, '[]', `${stack.stackName}/${id} has managed policies ${managed}`);
        }
      }
    }
  });
});

describe('tycho security groups', () => {
  it('the tasks accept traffic from their ALB only, on 8080', () => {
    const serviceSg = only<any>(service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups, 'service SG');
    const serviceSgId = serviceSg['Fn::GetAtt'][0];
    const albSgId = alb.Properties.SecurityGroups[0]['Fn::GetAtt'][0];
    const [, sg] = only(resources(t, 'AWS::EC2::SecurityGroup').filter(([id]) => id === serviceSgId), 'service SG');
    assert.equal(sg.Properties.SecurityGroupIngress, undefined, 'no inline ingress (no CIDR rules)');
    const ingress = resources(t, 'AWS::EC2::SecurityGroupIngress')
      .filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === serviceSgId);
    assert.equal(ingress.length, 1);
    const [, rule] = ingress[0];
    assert.deepEqual(rule.Properties.SourceSecurityGroupId, { 'Fn::GetAtt': [albSgId, 'GroupId'] });
    assert.equal(rule.Properties.FromPort, 8080);
    assert.equal(rule.Properties.ToPort, 8080);
    assert.ok(albId);
  });
});

describe('infra/README.md', () => {
  it("lists every environment variable of tycho's task definition, and no other", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const start = readme.indexOf('\n- Environment');
    assert.ok(start >= 0, 'the Environment bullet of "tycho\'s task"');
    const end = readme.indexOf('\n- ', start + 1);
    const listed = new Set([...readme.slice(start, end).matchAll(/`([A-Z][A-Z0-9_]+)(?:=[^`]*)?`/g)].map((m) => m[1]));
    assert.deepEqual([...listed].sort(), Object.keys(env).sort());
  });
});
