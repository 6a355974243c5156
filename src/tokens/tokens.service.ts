import {
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { pageNewestFirst } from '../common/http/cursor';
import { PageQueryDto } from '../common/http/page-query.dto';
import { validationFailed } from '../common/http/validation.pipe';
import { pruneHourly, retentionCutoff } from '../store/retention';
import {
  ALL_ENVIRONMENTS,
  DEFAULT_TOKEN_TTL_SECONDS,
  MintedTokenDto,
  MintTokenDto,
  TokenDto,
  TokenListDto,
} from './dto/token.dto';
import { LiveTokens, SCOPED_TOKEN_PREFIX, tokenHash } from './live-tokens';
import { StoredToken, TokensRepository } from './tokens.repository';

/**
 * Mints, lists and revokes scoped tokens: the store first, then the live view the guard reads.
 * Hourly, the view forgets expired tokens, and the store those past HISTORY_RETENTION_DAYS since
 * they expired or were revoked.
 */
@Injectable()
export class TokensService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokensService.name);
  private stopPruning: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: TokensRepository,
    private readonly live: LiveTokens,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopPruning = await pruneHourly(() => this.prune(), this.logger);
  }

  onModuleDestroy(): void {
    this.stopPruning();
  }

  async mint(request: MintTokenDto): Promise<MintedTokenDto> {
    this.checkEnvironments(request.environments);
    const token = `${SCOPED_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.clock.now();
    const ttlSeconds = request.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    const stored: StoredToken = {
      id: randomUUID(),
      tokenHash: tokenHash(token),
      name: request.name,
      environments: request.environments,
      actions: request.actions,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlSeconds * 1000).toISOString(),
      revokedAt: null,
    };
    await this.repository.insert(stored);
    this.live.add(stored);
    return { ...fieldsOf(stored), token };
  }

  list(query: PageQueryDto): Promise<TokenListDto> {
    return pageNewestFirst(
      query,
      (before, limit) => this.repository.list(before, limit),
      toTokenDto,
    );
  }

  /**
   * Revokes the token (again is harmless, and announces it again); it is refused from the next
   * request on, on every replica.
   */
  async revoke(id: string): Promise<void> {
    const stored = await this.repository.get(id);
    if (!stored) {
      throw new ApiError(HttpStatus.NOT_FOUND, ErrorCode.TOKEN_NOT_FOUND, `No token ${id}`);
    }
    await this.repository.revoke(id, new Date(this.clock.now()).toISOString());
    this.live.remove(stored);
    await this.live.announce(stored);
  }

  /** Configured names only, or `*` alone: a DTO cannot know the settings. */
  private checkEnvironments(environments: readonly string[]): void {
    const problems: string[] = [];
    if (environments.includes(ALL_ENVIRONMENTS) && environments.length > 1) {
      problems.push('environments: "*" means every environment and stands alone');
    }
    const configured = this.config.environments;
    for (const env of environments) {
      if (env !== ALL_ENVIRONMENTS && !configured.includes(env)) {
        problems.push(
          `environments: "${env}" is not a configured environment (${configured.join(', ')})`,
        );
      }
    }
    if (problems.length > 0) throw validationFailed(problems);
  }

  private async prune(): Promise<void> {
    const { retentionDays } = this.config.history;
    const now = this.clock.now();
    this.live.dropExpired(now);
    const pruned = await this.repository.pruneBefore(retentionCutoff(retentionDays, now));
    if (pruned > 0) {
      this.logger.log(
        `Pruned ${pruned} token(s) expired or revoked over ${retentionDays} days ago`,
      );
    }
  }
}

function fieldsOf(token: StoredToken): Omit<TokenDto, 'revokedAt'> {
  const { id, name, environments, actions, createdAt, expiresAt } = token;
  return { id, name, environments, actions, createdAt, expiresAt };
}

function toTokenDto(token: StoredToken): TokenDto {
  return { ...fieldsOf(token), revokedAt: token.revokedAt };
}
