// cdk-nag (v3, AwsSolutions pack) through validateScope: cdk-nag v3 writes no
// annotations, so Annotations.findError would find nothing (INFRA-TOOLING.md).
//  1. With the acknowledgements in lib/: no finding left, in any stack.
//  2. With acknowledgements disabled: every finding is exactly one of the
//     acknowledged ones (no stale acknowledgement, none broader than needed),
//     and every acknowledgement carries a specific reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { buildApp, VPN_CONTEXT } from './helpers.js';

type Violation = { ruleName: string; description: string; violatingResources: { constructPath: string }[] };

function findings(app: App, scopes: IConstruct[]): Violation[] {
  const checks = new AwsSolutionsChecks(app);
  return scopes.flatMap((s) => (checks.validateScope(s) as unknown as { violations: Violation[] }).violations);
}

function allStacks(context: Record<string, unknown>) {
  const { app, stacks } = buildApp(context);
  return { app, list: [stacks.network, stacks.registry, stacks.data, stacks.observability, stacks.app] };
}

// Every option that adds resources: the VPN and the HTTPS listener.
const FULL = { ...VPN_CONTEXT, appCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/app-test' };

describe('cdk-nag AwsSolutionsChecks', () => {
  for (const [name, ctx] of [['default context', {}], ['with Client VPN and HTTPS', FULL]] as const) {
    it(`no unacknowledged finding (${name})`, () => {
      const { app, list } = allStacks(ctx);
      const v = findings(app, list);
      assert.deepEqual(v.map((x) => `${x.ruleName} ${x.violatingResources.map((r) => r.constructPath).join(', ')}: ${x.description}`), []);
    });
  }

  it('every acknowledgement is needed, matches its findings, and says why', () => {
    type Ack = { id: string; reason: string };
    const proto = Object.getPrototypeOf(Validations.of(new App())) as { acknowledge: (...rules: Ack[]) => void };
    const original = proto.acknowledge;
    const acks: { path: string; id: string; reason: string }[] = [];
    proto.acknowledge = function (this: { scope: IConstruct }, ...rules: Ack[]) {
      for (const r of rules) {
        // CDK itself acknowledges some of its own checks (e.g. CloudFormation-Validate::W3010)
        if (r.id.startsWith('AwsSolutions')) acks.push({ path: this.scope.node.path, id: r.id, reason: r.reason });
      }
    };
    let v: Violation[];
    try {
      const { app, list } = allStacks(FULL);
      v = findings(app, list);
    } finally {
      proto.acknowledge = original;
    }
    assert.ok(acks.length > 0);
    for (const a of acks) {
      assert.ok(a.reason.length >= 60, `${a.path} ${a.id}: reason too short to be specific: ${a.reason}`);
      assert.match(a.id, /^AwsSolutions-[A-Z0-9]+(\[.+\])?$/, `${a.path}: acknowledge with the 'AwsSolutions-XXX' form (not 'AwsSolutions::...')`);
    }
    // each finding is covered by an acknowledgement on its construct or an ancestor
    for (const f of v) {
      for (const r of f.violatingResources) {
        assert.ok(acks.some((a) => a.id === f.ruleName && (r.constructPath === a.path || r.constructPath.startsWith(`${a.path}/`))),
          `unacknowledged ${f.ruleName} on ${r.constructPath}`);
      }
    }
    // each acknowledgement covers at least one finding
    for (const a of acks) {
      assert.ok(v.some((f) => f.ruleName === a.id && f.violatingResources.some((r) =>
        r.constructPath === a.path || r.constructPath.startsWith(`${a.path}/`))),
      `stale acknowledgement ${a.id} on ${a.path}: nothing to acknowledge`);
    }
  });
});
