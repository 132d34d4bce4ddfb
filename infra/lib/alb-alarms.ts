// CloudWatch alarms on the public load balancer: what users see that tycho's
// own metrics cannot show. When no target is healthy, or when the ALB answers
// 5xx itself (502 when a task reset or closed a connection, 503 with no
// registered target, 504 when a target did not answer in time), the request
// never reaches tycho, so no tycho_http_* series and no AMP rule sees it; a
// task that crashes and is replaced keeps remote-writing, so
// TychoMetricsAbsent stays quiet too. Both alarms notify the alerts topic
// (AMP's alerts go there as well) on ALARM and on OK.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { AlertTopic } from './alert-routing.js';

export interface LoadBalancerAlarmsProps {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly alerts: AlertTopic;
}

/** Share of requests the ALB itself answers 5xx, percent, over ELB_5XX_MINUTES, that raises the alarm. */
export const ELB_5XX_PERCENT = 5;
const ELB_5XX_MINUTES = 5;
/** Consecutive periods over the threshold before the alarm fires. */
const ELB_5XX_PERIODS = 2;

export class LoadBalancerAlarms extends Construct {
  readonly noHealthyTargets: cloudwatch.Alarm;
  readonly elb5xxRatio: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: LoadBalancerAlarmsProps) {
    super(scope, id);
    const { loadBalancer, targetGroup, alerts } = props;
    const name = (suffix: string) => `${alerts.alarmNamePrefix}${suffix}`;

    // HealthyHostCount is reported every minute while targets are registered,
    // traffic or not; no data means no target at all, which is the outage too.
    this.noHealthyTargets = new cloudwatch.Alarm(this, 'NoHealthyTargets', {
      alarmName: name('alb-no-healthy-targets'),
      alarmDescription: 'critical: no tycho task passes the ALB health check (GET /health); the ALB answers 503 to every request.',
      metric: targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MINIMUM }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const period = Duration.minutes(ELB_5XX_MINUTES);
    const ratio = new cloudwatch.MathExpression({
      label: 'ALB-generated 5xx, % of requests',
      expression: 'IF(requests > 0, 100 * FILL(elb5xx, 0) / requests, 0)',
      usingMetrics: {
        elb5xx: loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period, statistic: cloudwatch.Stats.SUM }),
        requests: loadBalancer.metrics.requestCount({ period, statistic: cloudwatch.Stats.SUM }),
      },
      period,
    });
    this.elb5xxRatio = new cloudwatch.Alarm(this, 'Elb5xxRatio', {
      alarmName: name('alb-5xx-ratio'),
      alarmDescription: `critical: over ${ELB_5XX_PERCENT}% of requests answered 5xx by the ALB itself (502, 503, 504: `
        + `the request did not get a response from tycho, so tycho's metrics do not count it) for ${ELB_5XX_MINUTES * ELB_5XX_PERIODS} minutes.`,
      metric: ratio,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: ELB_5XX_PERCENT,
      evaluationPeriods: ELB_5XX_PERIODS,
      datapointsToAlarm: ELB_5XX_PERIODS,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const notify = new actions.SnsAction(alerts.topic);
    for (const alarm of [this.noHealthyTargets, this.elb5xxRatio]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
  }
}
