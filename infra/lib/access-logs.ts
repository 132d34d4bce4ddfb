// An S3 bucket for load-balancer and S3 server access logs, and a helper that
// turns on ALB access logging in an environment-agnostic stack.
//
// `ApplicationLoadBalancer.logAccessLogs()` refuses to work without a concrete
// region (it needs the regional Elastic Load Balancing account for the bucket
// policy). Here the account is looked up at deploy time from a CloudFormation
// mapping keyed by AWS::Region (CDK's region facts), and the log-delivery service
// principal that newer regions use is allowed as well, so the same template
// works in every region.
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FactName } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';

export class AccessLogBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { expirationDays?: number } = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // ALB access logs can only be written to SSE-S3 buckets (not SSE-KMS).
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(props.expirationDays ?? 90) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Send the load balancer's access logs to this bucket under `prefix/`. */
  logLoadBalancer(lb: elbv2.ApplicationLoadBalancer, prefix: string): void {
    const stack = Stack.of(lb);
    // Regions launched before August 2022 deliver from a regional ELB account;
    // for newer regions the mapping falls back to our own account (harmless) and
    // the service principal below does the delivery.
    const elbAccount = stack.regionalFact(FactName.ELBV2_ACCOUNT, Aws.ACCOUNT_ID);
    const objects = this.bucket.arnForObjects(`${prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`);
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: `ElbLogDeliveryAccount${prefix.replace(/[^A-Za-z0-9]/g, '')}`,
      principals: [new iam.ArnPrincipal(`arn:${Aws.PARTITION}:iam::${elbAccount}:root`)],
      actions: ['s3:PutObject'],
      resources: [objects],
    }));
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: `ElbLogDeliveryService${prefix.replace(/[^A-Za-z0-9]/g, '')}`,
      principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [objects],
    }));
    lb.setAttribute('access_logs.s3.enabled', 'true');
    lb.setAttribute('access_logs.s3.bucket', this.bucket.bucketName);
    lb.setAttribute('access_logs.s3.prefix', prefix);
    // ELB checks that it may write before it accepts the attribute.
    if (this.bucket.policy) lb.node.addDependency(this.bucket.policy);
  }
}
