// CDK entry point: `cdk synth` / `cdk deploy` (see infra/README.md).
// No env is set on any stack: templates are account- and region-agnostic, and
// synth needs neither credentials nor network.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildTycho } from '../lib/tycho-app.js';

const app = new App();
buildTycho(app);
// cdk-nag v3 is a policy-validation plugin: an unacknowledged finding fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
