import { InjectionToken } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureApp, createAdapter } from '../../src/app.factory';
import { AppModule } from '../../src/app.module';
import { AppConfig } from '../../src/common/config/app-config';
import { loadConfig } from '../../src/common/config/load-config';
import { DockerService } from '../../src/docker/docker.service';

/** A provider of the application replaced by a test double. */
export interface ProviderOverride {
  provide: InjectionToken;
  useValue: unknown;
}

/**
 * The whole application (real pipes, guards, filter, store in `config.dataDir`) with the given
 * providers replaced, initialized and ready for `app.inject`.
 */
export async function appWithOverrides(
  config: AppConfig,
  overrides: ProviderOverride[],
): Promise<NestFastifyApplication> {
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  for (const { provide, useValue } of overrides) {
    builder = builder.overrideProvider(provide).useValue(useValue);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(config), {
    logger: false,
  });
  await configureApp(app, config);
  return app;
}

/**
 * The whole application (real pipes, guards, filter, store in a temp folder) with a stubbed
 * DockerService, for controller specs through `app.inject`.
 */
export function appWithMockedDocker(
  docker: jest.Mocked<DockerService>,
  env: Record<string, string>,
): Promise<NestFastifyApplication> {
  const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-unit-data-')), ...env });
  return appWithOverrides(config, [{ provide: DockerService, useValue: docker }]);
}
