// Builds every stack of the deployment into an App. Used by bin/tycho.ts and by
// the tests, so both see exactly the same wiring.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Tags } from 'aws-cdk-lib';
import { AppStack } from './app-stack.js';
import { loadConfig, TychoConfig } from './config.js';
import { DataStack } from './data-stack.js';
import { NetworkStack } from './network-stack.js';
import { INTERNAL_HTTP_PORT, ObservabilityStack } from './observability-stack.js';
import { RegistryStack } from './registry-stack.js';

/** grafana/alerts, relative to this file (infra/lib). */
export const ALERTS_DIR = path.resolve(__dirname, '..', '..', 'grafana', 'alerts');

export interface TychoStacks {
  readonly config: TychoConfig;
  readonly network: NetworkStack;
  readonly registry: RegistryStack;
  readonly data: DataStack;
  readonly observability: ObservabilityStack;
  readonly app: AppStack;
}

export function alertRuleFiles(dir = ALERTS_DIR): string[] {
  return fs.readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function buildTycho(app: App): TychoStacks {
  const config = loadConfig(app.node);
  const p = config.prefix;

  const network = new NetworkStack(app, `${p}Network`, {
    config, description: 'tycho: VPC (2 AZs, flow logs) and ECS cluster',
  });
  const registry = new RegistryStack(app, `${p}Registry`, {
    config, description: 'tycho: ECR repositories for the tycho, Grafana and Loki images',
  });
  const data = new DataStack(app, `${p}Data`, {
    config, description: 'tycho: SQS queue + DLQ and DynamoDB table of the reference app',
  });
  const observability = new ObservabilityStack(app, `${p}Observability`, {
    config,
    description: 'tycho: AMP workspace and alert rules, X-Ray Transaction Search, Loki and Grafana on Fargate, Client VPN',
    vpc: network.vpc,
    cluster: network.cluster,
    grafanaRepository: registry.grafana,
    lokiRepository: registry.loki,
    alertRuleFiles: alertRuleFiles(),
  });
  const service = new AppStack(app, `${p}App`, {
    config,
    description: 'tycho: the tycho service on Fargate behind a public ALB',
    vpc: network.vpc,
    cluster: network.cluster,
    repository: registry.tycho,
    queue: data.queue,
    deadLetterQueue: data.deadLetterQueue,
    table: data.table,
    workspaceArn: observability.workspace.attrArn,
    remoteWriteUrl: observability.remoteWriteUrl,
    lokiPushUrl: observability.lokiPushUrl,
    lokiLoadBalancerSecurityGroup: observability.internalLoadBalancerSecurityGroup,
    lokiLoadBalancerPort: INTERNAL_HTTP_PORT,
    alerts: observability.alerts,
  });

  Tags.of(app).add('project', 'tycho');
  Tags.of(app).add('deployment', config.name);
  return { config, network, registry, data, observability, app: service };
}
