// Shared set-up for the tests: the same app as bin/tycho.ts, with cdk.json's
// context (feature flags change the templates) plus per-test overrides.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildTycho, TychoStacks } from '../lib/tycho-app.js';

export const CDK_JSON_CONTEXT: Record<string, unknown> =
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;

/** Test-only certificate ARNs (never deployed). */
export const VPN_CONTEXT = {
  vpnServerCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/server-test',
  vpnClientCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/client-test',
};

/** imageTag has no default (bin/tycho.ts fails without it); tests use this one unless they pass theirs. */
export const TEST_IMAGE_TAG = 'test-tag';

export function buildApp(context: Record<string, unknown> = {}): { app: App; stacks: TychoStacks } {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, imageTag: TEST_IMAGE_TAG, ...context } });
  return { app, stacks: buildTycho(app) };
}

export function template(stack: Stack): Template {
  return Template.fromStack(stack);
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Resources of a type, as [logicalId, resource] pairs. */
export function resources(t: Template, type: string): [string, Json][] {
  return Object.entries(t.findResources(type));
}

export function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0];
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
