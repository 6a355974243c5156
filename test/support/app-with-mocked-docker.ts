import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureApp, createAdapter } from '../../src/app.factory';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/common/config/load-config';
import { DockerService } from '../../src/docker/docker.service';

/**
 * The whole application (real pipes, guards, filter, store in a temp folder) with a stubbed
 * DockerService, for controller specs through `app.inject`.
 */
export async function appWithMockedDocker(
  docker: jest.Mocked<DockerService>,
  env: Record<string, string>,
): Promise<NestFastifyApplication> {
  const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-unit-data-')), ...env });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(DockerService)
    .useValue(docker)
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(config), {
    logger: false,
  });
  await configureApp(app, config);
  return app;
}
