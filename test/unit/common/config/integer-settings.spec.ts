import { EnvironmentVariables } from '../../../../src/common/config/environment-variables';
import { ConfigValidationError, loadConfig } from '../../../../src/common/config/load-config';

const TOKEN = 't'.repeat(32);

/** Every integer setting with its bounds, as the messages name them. */
const INTEGER_SETTINGS: { name: string; min: number; max?: number }[] = [
  { name: 'PORT', min: 1, max: 65535 },
  { name: 'DOCKER_TIMEOUT_MS', min: 100 },
  { name: 'THROTTLE_IP_LIMIT', min: 1 },
  { name: 'THROTTLE_IP_TTL_MS', min: 1000 },
  { name: 'THROTTLE_TOKEN_LIMIT', min: 1 },
  { name: 'THROTTLE_TOKEN_TTL_MS', min: 1000 },
  { name: 'THROTTLE_CLAUDE_LIMIT', min: 1 },
  { name: 'THROTTLE_CLAUDE_TTL_MS', min: 1000 },
  { name: 'BODY_LIMIT_BYTES', min: 1024 },
  { name: 'DATABASE_POOL_SIZE', min: 1, max: 1000 },
  { name: 'DATABASE_CONNECT_TIMEOUT_MS', min: 100, max: 300000 },
  { name: 'EXECUTION_TIMEOUT_MS', min: 1000 },
  { name: 'MAX_PROMPT_BYTES', min: 1 },
  { name: 'MAX_OUTPUT_BYTES', min: 1024 },
  { name: 'MAX_CONCURRENT_PER_ENV', min: 1, max: 64 },
  { name: 'MAX_QUEUE_PER_ENV', min: 0, max: 10000 },
  { name: 'SHUTDOWN_GRACE_MS', min: 0 },
  { name: 'CANCEL_GRACE_MS', min: 100 },
  { name: 'APPROVAL_TIMEOUT_MS', min: 100, max: 86_400_000 },
  { name: 'WARM_SESSIONS_PER_ENV', min: 0, max: 64 },
  { name: 'WARM_SESSIONS_TOTAL', min: 0, max: 1024 },
  { name: 'WARM_IDLE_MS', min: 1000, max: 86_400_000 },
  { name: 'SPARE_PROCESSES', min: 0, max: 8 },
  { name: 'IDLE_STOP_MS', min: 0, max: 604_800_000 },
  { name: 'HISTORY_RETENTION_DAYS', min: 1 },
  { name: 'EVENTS_MAX_PER_RUN', min: 10 },
  { name: 'EVENTS_MAX_BYTES_PER_RUN', min: 1024 },
  { name: 'SSE_HEARTBEAT_MS', min: 100 },
  { name: 'EVENTS_TOKEN_TTL_MS', min: 1000 },
  { name: 'EVENTS_TOKEN_GRACE_MS', min: 0, max: 600000 },
  { name: 'SSE_MAX_STREAMS', min: 1, max: 100000 },
  { name: 'SSE_MAX_STREAMS_PER_TOKEN', min: 1, max: 100000 },
  { name: 'TOKEN_RUN_QUOTA', min: 0 },
  { name: 'TOKEN_RUN_QUOTA_WINDOW_MS', min: 1000, max: 2_592_000_000 },
  { name: 'WEBHOOK_MAX_ATTEMPTS', min: 1, max: 100 },
  { name: 'WEBHOOK_TIMEOUT_MS', min: 100, max: 300000 },
  { name: 'REDIS_TIMEOUT_MS', min: 100, max: 60000 },
];

/** The problems with `env`; a small MAX_PROMPT_BYTES keeps a bad BODY_LIMIT_BYTES to its own. */
function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig({ API_TOKEN: TOKEN, MAX_PROMPT_BYTES: '1', ...env });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('integer settings', () => {
  it('are all listed here', () => {
    const numeric = Object.entries(new EnvironmentVariables())
      // ENV_BUDGET_USD_PER_DAY is an amount of dollars, not an integer (see config.spec.ts).
      .filter(([name, value]) => typeof value === 'number' && name !== 'ENV_BUDGET_USD_PER_DAY')
      .map(([name]) => name);
    expect(numeric).toEqual(INTEGER_SETTINGS.map(({ name }) => name));
  });

  it.each(INTEGER_SETTINGS)(
    '$name keeps its messages for a value that is not an integer',
    ({ name, min, max }) => {
      const expected = [
        ...(max === undefined ? [] : [`${name} must not be greater than ${max}`]),
        `${name} must not be less than ${min}`,
        `${name} must be an integer number`,
      ];
      expect(problemsOf({ [name]: 'lots' })).toEqual(expected);
      expect(problemsOf({ [name]: '1.5' })).toEqual(expected);
    },
  );

  it.each(INTEGER_SETTINGS)('$name names its bounds', ({ name, min, max }) => {
    expect(problemsOf({ [name]: String(min - 1) })).toEqual([
      `${name} must not be less than ${min}`,
    ]);
    if (max !== undefined) {
      expect(problemsOf({ [name]: String(max + 1) })).toEqual([
        `${name} must not be greater than ${max}`,
      ]);
    }
  });

  it('reads digits with spaces around them', () => {
    expect(loadConfig({ API_TOKEN: TOKEN, PORT: ' 8080 ' }).port).toBe(8080);
  });
});
