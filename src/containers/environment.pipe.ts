import { HttpStatus, Inject, Injectable, PipeTransform } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';

/** Accepts an `:env` path parameter only when it names a configured environment. */
@Injectable()
export class EnvironmentPipe implements PipeTransform<string, string> {
  private readonly environments: ReadonlySet<string>;
  private readonly configured: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.environments = new Set(config.environments);
    this.configured = config.environments.join(', ');
  }

  transform(env: string): string {
    if (!this.environments.has(env)) {
      throw new ApiError(
        HttpStatus.NOT_FOUND,
        ErrorCode.ENV_NOT_FOUND,
        `Unknown environment "${env.slice(0, 64)}"; configured: ${this.configured}`,
      );
    }
    return env;
  }
}
