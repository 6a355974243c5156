import { InjectionToken } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
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

/** A log destination that keeps nothing: the specs' apps log nowhere unless a spec asks. */
const NO_LOGS: DestinationStream = { write: () => undefined };

/**
 * The whole application (real pipes, guards, filter, store in `config.dataDir`) with the given
 * providers replaced, initialized and ready for `app.inject`. Its logs go to `logDestination`.
 */
export async function appWithOverrides(
  config: AppConfig,
  overrides: ProviderOverride[],
  logDestination: DestinationStream = NO_LOGS,
): Promise<NestFastifyApplication> {
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config, logDestination)],
  });
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
