// Deployment settings, read once from CDK context (cdk.json or `-c key=value`).
// Nothing here names an account or a region: every stack is environment-agnostic,
// and the account/region come from the credentials `cdk deploy` runs with.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Node } from 'constructs';

/**
 * tycho's own timing defaults (server/core/config.h). The load balancer and ECS
 * timings below are derived from them so that the relations the drain logic
 * depends on hold by construction (and are asserted by test/app.test.ts).
 * ECS stops a task behind an ALB in this order: it deregisters the target, the
 * ALB sends it no new request and lets the ones in flight finish for up to the
 * deregistration delay, and only then does ECS send SIGTERM (then SIGKILL
 * after stopTimeout). Hence:
 *   handler timeout    < ALB deregistration delay  (no request cut by the ALB)
 *   drain timeout      < ECS stopTimeout            (no SIGKILL while draining)
 *   ALB idle timeout   < keep-alive timeout
 */
export const TYCHO = {
  port: 8080,
  adminListen: '127.0.0.1:9090',
  drainTimeoutSeconds: 25,
  /** TYCHO_HANDLER_TIMEOUT: the longest a request can run (/receive-messages long-polls 20 s). */
  handlerTimeoutSeconds: 30,
  keepAliveTimeoutSeconds: 75,
  binary: '/usr/local/bin/tycho',
  routesDir: '/app/routes',
  /** uid:gid of the `tycho` user created by the root Dockerfile. */
  user: '10001:10001',
  /** the writable scratch volume; TYCHO_DATA_DIR points here (root fs is read-only). */
  tmpDir: '/tmp',
} as const;

export interface TychoConfig {
  /** Prefix for stack ids and the few physical names that must be predictable. */
  readonly prefix: string;
  /** Lower-case form of prefix, for resource names (SQS queues, AMP alias). */
  readonly name: string;
  readonly vpcCidr: string;
  readonly natGateways: number;
  /** Route 53 private zone; Loki and Grafana are `loki.<zone>` and `grafana.<zone>`. */
  readonly zoneName: string;
  /** Image tags pushed by .github/workflows/deploy.yml (scripts/image-tag). */
  readonly imageTag: string;
  readonly grafanaImageTag: string;
  readonly lokiImageTag: string;
  /** ECR repository names (created by the registry stack, pushed to by CI). */
  readonly repositories: { readonly tycho: string; readonly grafana: string; readonly loki: string };
  /** Client VPN (mutual TLS): created only when both ACM certificate ARNs are given. */
  readonly vpnServerCertificateArn?: string;
  readonly vpnClientCertificateArn?: string;
  readonly vpnClientCidr: string;
  /** Optional ACM certificate for an HTTPS listener on the public ALB. */
  readonly appCertificateArn?: string;
  readonly appDesiredCount: number;
  readonly appMaxCount: number;
  readonly appCpu: number;
  readonly appMemoryMiB: number;
  /** Target-tracking goals for the tycho service. */
  readonly scaleCpuPercent: number;
  /** ALBRequestCountPerTarget: requests per task per MINUTE. */
  readonly scaleRequestsPerTarget: number;
  /** Share of new traces sampled (OTEL_TRACES_SAMPLER=parentbased_traceidratio), 0..1. */
  readonly traceSampleRatio: number;
  /** Transaction Search is one per account and region: turn off if another stack owns it. */
  readonly transactionSearch: boolean;
  readonly transactionSearchIndexingPercent: number;
  /** CloudWatch log retention for container and flow logs. */
  readonly logRetentionDays: number;
  /** Days Loki's objects stay in S3 before the bucket lifecycle removes them (backstop to Loki's own retention). */
  readonly lokiObjectExpirationDays: number;
  /** E-mail addresses subscribed to the alerts topic (each must confirm its subscription). */
  readonly alertEmails: readonly string[];
}

/**
 * A context value, or undefined when it is unset. Unset includes an empty or
 * blank string: `-c key=` (what a CI variable that is not defined expands to)
 * means "not given", so the default applies. Note that a `-c` value replaces
 * cdk.json's for the same key, so a caller must not pass `-c key=` to mean
 * "use cdk.json's" (deploy.yml passes only the variables that are set).
 */
function ctx(node: Node, key: string): unknown {
  const v = node.tryGetContext(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  return v;
}

function str(node: Node, key: string, fallback: string): string {
  const v = ctx(node, key);
  return v === undefined ? fallback : String(v);
}

function optStr(node: Node, key: string): string | undefined {
  const v = ctx(node, key);
  return v === undefined ? undefined : String(v);
}

function num(node: Node, key: string, fallback: number): number {
  const raw = ctx(node, key);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`context ${key}: not a number: ${JSON.stringify(raw)}`);
  return v;
}

/**
 * A whole number from context, min <= v <= max. `why` ends the message: what the
 * bound protects, since CloudFormation would only refuse the value (or deploy a
 * service that cannot work) well into a deploy.
 */
function whole(node: Node, key: string, fallback: number, min: number, max: number, why: string): number {
  const v = num(node, key, fallback);
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min} to ${max}`;
    throw new Error(`context ${key}: ${v} is not a whole number ${range} (${why})`);
  }
  return v;
}

/** An ECR image tag (what Docker accepts): a letter, digit or _ then up to 127 of those, . and -. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function imageTagOf(node: Node, key: string, fallback: string): string {
  const tag = str(node, key, fallback);
  if (!IMAGE_TAG.test(tag)) {
    throw new Error(`context ${key}: not an image tag: ${JSON.stringify(tag)} (letters, digits, _ . -; at most 128)`);
  }
  return tag;
}

/** An ACM certificate ARN, or undefined when the key is unset. */
function certificateArn(node: Node, key: string): string | undefined {
  const arn = optStr(node, key);
  if (arn !== undefined && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(arn)) {
    throw new Error(`context ${key}: not an ACM certificate ARN: ${JSON.stringify(arn)} `
      + '(arn:aws:acm:<region>:<account>:certificate/<id>)');
  }
  return arn;
}

/** [first address, last address] of an IPv4 CIDR, as unsigned 32-bit numbers, and its prefix length. */
function cidrRange(key: string, cidr: string): { first: number; last: number; bits: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => +o > 255) || +m[5] > 32) {
    throw new Error(`context ${key}: not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  }
  const ip = ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
  const bits = +m[5];
  const size = 2 ** (32 - bits);
  const first = ip - (ip % size);
  return { first, last: first + size - 1, bits };
}

/**
 * Loki's own retention in days: limits_config.retention_period in
 * grafana/loki/loki.yaml (720h; test/stacks.test.ts keeps the two equal).
 */
export const LOKI_RETENTION_DAYS = 30;

/**
 * A list from context: a comma-separated string (`-c key=a,b`) or a JSON array
 * (cdk.json). Blanks around items and empty items are dropped, duplicates kept once.
 */
function list(node: Node, key: string): string[] {
  const raw = ctx(node, key);
  if (raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : String(raw).split(',');
  return [...new Set(items.map((v) => String(v).trim()).filter((v) => v !== ''))];
}

/**
 * A plausible e-mail address: one @, no blanks, commas or semicolons, a dotted
 * domain. It catches typos and a mangled list, not every invalid address.
 */
const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;.]+$/;

function bool(node: Node, key: string, fallback: boolean): boolean {
  const raw = ctx(node, key);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`context ${key}: expected true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Fargate's valid task sizes (Linux): CPU units -> allowed memory in MiB, as
 * [min, max, step]. Any other combination is refused by ECS at deploy time.
 */
export const FARGATE_SIZES: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512], // 512, 1024, 2048 (1536 is not valid: checked below)
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** The memory sizes Fargate accepts for `cpu` units (empty when `cpu` is not a Fargate size). */
export function fargateMemoryOptions(cpu: number): number[] {
  const range = FARGATE_SIZES[cpu];
  if (!range) return [];
  if (cpu === 256) return [512, 1024, 2048];
  const out: number[] = [];
  for (let m = range[0]; m <= range[1]; m += range[2]) out.push(m);
  return out;
}

function describeMemory(options: number[]): string {
  return options.length <= 4 ? options.join(', ')
    : `${options[0]} to ${options[options.length - 1]} in steps of ${options[1] - options[0]}`;
}

export function loadConfig(node: Node): TychoConfig {
  const prefix = str(node, 'prefix', 'Tycho');
  if (!/^[A-Za-z][A-Za-z0-9]{0,19}$/.test(prefix)) {
    throw new Error(`context prefix: use 1-20 letters or digits, starting with a letter (got ${prefix})`);
  }
  const name = prefix.toLowerCase();
  // No default: the repositories are IMMUTABLE and nothing pushes `latest`, so a
  // synth without a tag would deploy a task that can never pull its image.
  if (optStr(node, 'imageTag') === undefined) {
    throw new Error('context imageTag: required, the tag pushed to ECR (deploy.yml uses scripts/image-tag: <commit sha>-base-<hash>): '
      + '-c imageTag=$(git rev-parse HEAD)');
  }
  const imageTag = imageTagOf(node, 'imageTag', '');
  const vpnServerCertificateArn = certificateArn(node, 'vpnServerCertificateArn');
  const vpnClientCertificateArn = certificateArn(node, 'vpnClientCertificateArn');
  if ((vpnServerCertificateArn === undefined) !== (vpnClientCertificateArn === undefined)) {
    throw new Error('context vpnServerCertificateArn and vpnClientCertificateArn: give both (mutual TLS) or neither');
  }
  const cfg: TychoConfig = {
    prefix,
    name,
    vpcCidr: str(node, 'vpcCidr', '10.0.0.0/16'),
    natGateways: whole(node, 'natGateways', 1, 1, 2,
      'the private subnets reach ECR, SQS, AMP and X-Ray through a NAT gateway; 2 gives each AZ its own'),
    zoneName: str(node, 'zoneName', `${name}.internal`),
    imageTag,
    grafanaImageTag: imageTagOf(node, 'grafanaImageTag', imageTag),
    lokiImageTag: imageTagOf(node, 'lokiImageTag', imageTag),
    repositories: { tycho: name, grafana: `${name}-grafana`, loki: `${name}-loki` },
    vpnServerCertificateArn,
    vpnClientCertificateArn,
    vpnClientCidr: str(node, 'vpnClientCidr', '10.100.0.0/22'),
    appCertificateArn: certificateArn(node, 'appCertificateArn'),
    appDesiredCount: whole(node, 'appDesiredCount', 2, 1, Number.MAX_SAFE_INTEGER,
      'the fewest tasks serving; target tracking does not scale out of 0'),
    appMaxCount: whole(node, 'appMaxCount', 6, 1, Number.MAX_SAFE_INTEGER, 'the most tasks autoscaling starts'),
    appCpu: num(node, 'appCpu', 512),
    appMemoryMiB: num(node, 'appMemoryMiB', 1024),
    scaleCpuPercent: whole(node, 'scaleCpuPercent', 60, 1, 100,
      "average CPU of the tasks, percent: past 100 the service never scales out on CPU"),
    scaleRequestsPerTarget: whole(node, 'scaleRequestsPerTarget', 6000, 1, Number.MAX_SAFE_INTEGER,
      'requests per task per minute'),
    traceSampleRatio: num(node, 'traceSampleRatio', 0.1),
    transactionSearch: bool(node, 'transactionSearch', true),
    transactionSearchIndexingPercent: num(node, 'transactionSearchIndexingPercent', 1),
    logRetentionDays: num(node, 'logRetentionDays', 30),
    lokiObjectExpirationDays: whole(node, 'lokiObjectExpirationDays', 100, LOKI_RETENTION_DAYS + 1, Number.MAX_SAFE_INTEGER,
      `longer than Loki's own ${LOKI_RETENTION_DAYS}-day retention: S3 would otherwise delete chunks and index `
      + 'files Loki still serves, and queries within its retention would fail on the missing objects'),
    alertEmails: list(node, 'alertEmails'),
  };
  if (!(Object.values(RetentionDays) as number[]).includes(cfg.logRetentionDays)) {
    throw new Error(`context logRetentionDays: ${cfg.logRetentionDays} is not a CloudWatch Logs retention value`);
  }
  if (!(cfg.traceSampleRatio >= 0 && cfg.traceSampleRatio <= 1)) {
    throw new Error(`context traceSampleRatio: ${cfg.traceSampleRatio} is not between 0 and 1`);
  }
  if (!(cfg.appCpu in FARGATE_SIZES)) {
    throw new Error(`context appCpu: ${cfg.appCpu} is not a Fargate task size (CPU units: `
      + `${Object.keys(FARGATE_SIZES).join(', ')})`);
  }
  const memoryOptions = fargateMemoryOptions(cfg.appCpu);
  if (!memoryOptions.includes(cfg.appMemoryMiB)) {
    throw new Error(`context appMemoryMiB: ${cfg.appMemoryMiB} MiB is not valid on Fargate with appCpu ${cfg.appCpu}; `
      + `valid: ${describeMemory(memoryOptions)} MiB`);
  }
  if (cfg.appMaxCount < cfg.appDesiredCount) {
    throw new Error(`context appMaxCount (${cfg.appMaxCount}) is below appDesiredCount (${cfg.appDesiredCount})`);
  }
  for (const email of cfg.alertEmails) {
    if (!EMAIL.test(email)) {
      throw new Error(`context alertEmails: not an e-mail address: ${JSON.stringify(email)} `
        + '(give a comma-separated list, e.g. -c alertEmails=oncall@example.com,team@example.com)');
    }
  }
  if (cfg.vpnServerCertificateArn) {
    // Client VPN refuses (at deploy) a client range outside /12-/22 or one that overlaps the VPC.
    const vpn = cidrRange('vpnClientCidr', cfg.vpnClientCidr);
    const vpc = cidrRange('vpcCidr', cfg.vpcCidr);
    if (vpn.bits < 12 || vpn.bits > 22) {
      throw new Error(`context vpnClientCidr: ${cfg.vpnClientCidr} must be a /12 to /22 range (Client VPN)`);
    }
    if (vpn.first <= vpc.last && vpc.first <= vpn.last) {
      throw new Error(`context vpnClientCidr: ${cfg.vpnClientCidr} overlaps vpcCidr ${cfg.vpcCidr}; `
        + 'the addresses given to VPN clients must lie outside the VPC');
    }
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(cfg.zoneName)) {
    throw new Error(`context zoneName: not a DNS name: ${cfg.zoneName}`);
  }
  return cfg;
}

/** The VPC's Amazon DNS resolver: base of the VPC CIDR + 2 (what Client VPN clients must use for the private zone). */
export function vpcResolver(cidr: string): string {
  const r = cidrRange('vpcCidr', cidr).first + 2;
  return [r >>> 24, (r >>> 16) & 255, (r >>> 8) & 255, r & 255].join('.');
}
