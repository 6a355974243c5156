import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { SqlExecutor, SqlStore } from '../store/sql-store';
import { ExecutionsRepository } from './executions.repository';

/** The environment's budget is over rolling 24 hours. */
export const ENV_BUDGET_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The bounds a submit is checked against, from the history: what the environment's runs spent in
 * the last 24 hours (ENV_BUDGET_USD_PER_DAY) and how many runs the token submitted in its window
 * (TOKEN_RUN_QUOTA). Past either, 429 with the time it resets. Each check is one indexed query.
 */
@Injectable()
export class RunBudgets {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly store: SqlStore,
  ) {}

  /** Throws 429 ENV_BUDGET_EXHAUSTED or RUN_QUOTA_EXHAUSTED when a new run does not fit. */
  async check(
    env: string,
    tokenId: string,
    executor: SqlExecutor = this.store,
    now = Date.now(),
  ): Promise<void> {
    await this.checkEnvBudget(env, executor, now);
    await this.checkTokenQuota(tokenId, executor, now);
  }

  /**
   * Checks the budgets and, when the run fits, records it with `record`, in one transaction that
   * holds the environment's and the token's locks: of two submits at once, the second sees the
   * first's run, so both cannot pass on room for one.
   */
  checkAndRecord<T>(
    env: string,
    tokenId: string,
    record: (tx: SqlExecutor) => Promise<T>,
  ): Promise<T> {
    return this.store.transaction(async (tx) => {
      // Always in this order (environment, then token), so two submits never wait on each other.
      await tx.lock(`budget:${env}`);
      await tx.lock(`quota:${tokenId}`);
      await this.check(env, tokenId, tx);
      return record(tx);
    });
  }

  private async checkEnvBudget(env: string, executor: SqlExecutor, now: number): Promise<void> {
    const budget = this.config.budgets.envUsdPerDay;
    if (budget === 0) return;
    const since = new Date(now - ENV_BUDGET_WINDOW_MS).toISOString();
    const spent = await this.repository.spentSince(env, since, executor);
    if (spent < budget) return;
    const spending = await this.repository.spendingSince(env, since, executor);
    const resetsAt = budgetResetsAt(spending, budget);
    throw exhausted(
      ErrorCode.ENV_BUDGET_EXHAUSTED,
      `Environment ${env} has spent $${spent.toFixed(2)} of its $${budget} a day (ENV_BUDGET_USD_PER_DAY); it takes runs again at ${resetsAt}`,
      resetsAt,
      now,
    );
  }

  private async checkTokenQuota(
    tokenId: string,
    executor: SqlExecutor,
    now: number,
  ): Promise<void> {
    const { tokenRunQuota: quota, tokenRunQuotaWindowMs: windowMs } = this.config.budgets;
    if (quota === 0) return;
    const since = new Date(now - windowMs).toISOString();
    const submitted = await this.repository.submittedSince(tokenId, since, executor);
    if (submitted.length < quota) return;
    const resetsAt = quotaResetsAt(submitted, quota, windowMs);
    throw exhausted(
      ErrorCode.RUN_QUOTA_EXHAUSTED,
      `This token has submitted ${submitted.length} runs in the last ${windowMs} ms (TOKEN_RUN_QUOTA); it may submit again at ${resetsAt}`,
      resetsAt,
      now,
    );
  }
}

/**
 * When the spend of `runs` (finished in the window, oldest first) falls below `budget`: the end
 * of the window of the oldest run whose aging out brings it there.
 */
export function budgetResetsAt(
  runs: readonly { finishedAt: string; spentUsd: number }[],
  budget: number,
): string {
  let spent = runs.reduce((sum, run) => sum + run.spentUsd, 0);
  for (const run of runs) {
    spent -= run.spentUsd;
    if (spent < budget) return windowEnd(run.finishedAt, ENV_BUDGET_WINDOW_MS);
  }
  // Not reached while the runs hold the spend that was measured.
  return windowEnd(runs.at(-1)?.finishedAt ?? new Date().toISOString(), ENV_BUDGET_WINDOW_MS);
}

/**
 * When a token that submitted `createdAt` (in the window, oldest first) may submit one more:
 * once all but `quota - 1` of them have aged out.
 */
export function quotaResetsAt(
  createdAt: readonly string[],
  quota: number,
  windowMs: number,
): string {
  return windowEnd(createdAt[createdAt.length - quota], windowMs);
}

function windowEnd(time: string, windowMs: number): string {
  return new Date(Date.parse(time) + windowMs).toISOString();
}

/** A 429 that says when it resets: in its details (`resetsAt: <ISO time>`) and in Retry-After. */
function exhausted(code: ErrorCode, message: string, resetsAt: string, now: number): ApiError {
  const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(resetsAt) - now) / 1000));
  return new ApiError(HttpStatus.TOO_MANY_REQUESTS, code, message, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
    details: [`resetsAt: ${resetsAt}`],
  });
}
