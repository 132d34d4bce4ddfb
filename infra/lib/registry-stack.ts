// Registry: one ECR repository per image CI builds (tycho, Grafana, Loki).
// Deployed first and on its own (deploy.yml), because images must be pushed
// before the services that run them are created.
import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { TychoConfig } from './config.js';

export interface RegistryStackProps extends StackProps {
  readonly config: TychoConfig;
}

export class RegistryStack extends Stack {
  readonly tycho: ecr.Repository;
  readonly grafana: ecr.Repository;
  readonly loki: ecr.Repository;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, props);
    const names = props.config.repositories;
    this.tycho = this.repository('Tycho', names.tycho);
    this.grafana = this.repository('Grafana', names.grafana);
    this.loki = this.repository('Loki', names.loki);
  }

  private repository(id: string, repositoryName: string): ecr.Repository {
    return new ecr.Repository(this, id, {
      repositoryName,
      imageScanOnPush: true,
      // Tags name their content (scripts/image-tag): a tag never moves, so a
      // task definition always names exactly the image that was scanned.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.AES_256,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { rulePriority: 1, description: 'drop untagged layers', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7) },
        { rulePriority: 2, description: 'keep the last 50 images', tagStatus: ecr.TagStatus.ANY, maxImageCount: 50 },
      ],
    });
  }
}
