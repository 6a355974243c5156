import { PermissionMode } from '../../../../src/common/config/permission-mode';
import { ConfigValidationError, loadConfig } from '../../../../src/common/config/load-config';

const TOKEN = 't'.repeat(32);

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('loadConfig', () => {
  it('applies the embedded defaults', () => {
    const config = loadConfig({ API_TOKEN: TOKEN });
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      apiTokens: [TOKEN],
      allowedOrigins: [],
      environments: ['dev', 'staging', 'prod'],
      docker: {
        hosts: [
          { name: 'local', connection: { kind: 'socket', socketPath: '/var/run/docker.sock' } },
        ],
        pins: {},
      },
      agent: {
        image: 'claudecode-agent:2.1.332',
        containerPrefix: 'claude-agent-',
        volumePrefix: 'claude-',
        network: 'claude-network',
        workdir: '/workspace',
        env: {},
      },
      trustProxy: false,
      docsEnabled: true,
    });
    // Runs name no mode: `default`. Clients may not turn on bypassPermissions or auto.
    for (const env of ['dev', 'staging', 'prod']) {
      expect(config.execution.permissions[env]).toEqual({
        defaultMode: PermissionMode.default,
        allowed: ['default', 'acceptEdits', 'plan', 'dontAsk'],
      });
    }
  });

  it('parses lists, numbers, booleans and AGENT_ENV_ variables', () => {
    const config = loadConfig({
      API_TOKEN: TOKEN,
      API_TOKENS: ` ${'u'.repeat(32)} , ${'v'.repeat(40)} `,
      ALLOWED_ORIGINS: 'https://a.example.com,http://localhost:5173',
      ENVIRONMENTS: 'dev,qa-1',
      PORT: '8080',
      DOCS_ENABLED: 'false',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      AGENT_ENV_ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
      AGENT_ENV_CLAUDE_CODE_OAUTH_TOKEN: 'oauth',
      PERMISSION_MODES: 'default, plan',
    });
    expect(config.execution.permissions['qa-1'].allowed).toEqual(['default', 'plan']);
    expect(config.apiTokens).toEqual([TOKEN, 'u'.repeat(32), 'v'.repeat(40)]);
    expect(config.allowedOrigins).toEqual(['https://a.example.com', 'http://localhost:5173']);
    expect(config.environments).toEqual(['dev', 'qa-1']);
    expect(config.port).toBe(8080);
    expect(config.docsEnabled).toBe(false);
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(config.agent.env).toEqual({
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth',
    });
  });

  it.each([
    ['true', true],
    ['2', 2],
    ['false', false],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ API_TOKEN: TOKEN, TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('honours DOCKER_HOST over DOCKER_SOCKET', () => {
    expect(loadConfig({ API_TOKEN: TOKEN, DOCKER_HOST: 'tcp://socket-proxy:2375' }).docker).toEqual(
      {
        timeoutMs: 15000,
        hosts: [
          {
            name: 'local',
            connection: { kind: 'tcp', protocol: 'http', host: 'socket-proxy', port: 2375 },
          },
        ],
        pins: {},
      },
    );
    expect(
      loadConfig({ API_TOKEN: TOKEN, DOCKER_HOST: 'unix:///run/docker.sock' }).docker.hosts,
    ).toEqual([{ name: 'local', connection: { kind: 'socket', socketPath: '/run/docker.sock' } }]);
  });

  it('requires API_TOKEN', () => {
    const problems = problemsOf({});
    expect(problems).toContain('API_TOKEN is required (at least 32 characters)');
    for (const problem of problems) expect(problem).toContain('API_TOKEN');
  });

  it('names every bad value in one error', () => {
    const problems = problemsOf({
      API_TOKEN: 'short',
      API_TOKENS: 'also-short',
      PORT: '99999',
      ENVIRONMENTS: 'dev,Prod,dev',
      ALLOWED_ORIGINS: 'https://ok.example.com,https://bad.example.com/path',
      DOCKER_HOST: 'ftp://nope',
      TRUST_PROXY: 'sometimes',
      DOCS_ENABLED: 'maybe',
      AGENT_ENV_: 'x',
      THROTTLE_IP_LIMIT: 'lots',
      PERMISSION_MODES: 'default,yolo',
    });
    const text = problems.join('\n');
    for (const name of [
      'API_TOKEN must be at least 32',
      'API_TOKENS',
      'PORT',
      'ENVIRONMENTS entries',
      'ENVIRONMENTS lists "dev" twice',
      'ALLOWED_ORIGINS',
      'DOCKER_HOST',
      'TRUST_PROXY',
      'DOCS_ENABLED',
      'AGENT_ENV_ does not name',
      'THROTTLE_IP_LIMIT',
      'PERMISSION_MODES must be a comma list of default, acceptEdits',
    ]) {
      expect(text).toContain(name);
    }
    expect(problems.length).toBeGreaterThanOrEqual(12);
  });

  it('logs JSON at info without content, and serves no metrics, by default', () => {
    expect(loadConfig({ API_TOKEN: TOKEN })).toMatchObject({
      log: { format: 'json', level: 'info', content: false },
      metricsToken: null,
    });
    expect(
      loadConfig({
        API_TOKEN: TOKEN,
        LOG_FORMAT: 'pretty',
        LOG_LEVEL: 'debug',
        LOG_CONTENT: 'true',
        METRICS_TOKEN: 'm'.repeat(32),
      }),
    ).toMatchObject({
      log: { format: 'pretty', level: 'debug', content: true },
      metricsToken: 'm'.repeat(32),
    });
  });

  it('refuses bad log settings, a short METRICS_TOKEN, and one that is also an API token', () => {
    const bad = problemsOf({
      API_TOKEN: TOKEN,
      LOG_FORMAT: 'xml',
      LOG_LEVEL: 'loud',
      LOG_CONTENT: 'sometimes',
      METRICS_TOKEN: 'short',
    });
    expect(bad).toEqual(
      expect.arrayContaining([
        'LOG_FORMAT must be one of json, pretty',
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
        'LOG_CONTENT must be true or false',
        'METRICS_TOKEN must be at least 32 characters long',
      ]),
    );
    expect(problemsOf({ API_TOKEN: TOKEN, METRICS_TOKEN: TOKEN })).toEqual([
      'METRICS_TOKEN must differ from the API tokens (a scraper must not run Claude)',
    ]);
  });

  it('reads the budgets (none by default) and names a bad amount or a window past the history', () => {
    expect(loadConfig({ API_TOKEN: TOKEN }).budgets).toEqual({
      envUsdPerDay: 0,
      tokenRunQuota: 0,
      tokenRunQuotaWindowMs: 86_400_000,
    });
    expect(
      loadConfig({ API_TOKEN: TOKEN, ENV_BUDGET_USD_PER_DAY: '7.50', TOKEN_RUN_QUOTA: '200' })
        .budgets,
    ).toMatchObject({ envUsdPerDay: 7.5, tokenRunQuota: 200 });
    for (const amount of ['-1', 'lots', '1e3', '$5']) {
      expect(problemsOf({ API_TOKEN: TOKEN, ENV_BUDGET_USD_PER_DAY: amount })).toEqual([
        'ENV_BUDGET_USD_PER_DAY must not be less than 0',
        'ENV_BUDGET_USD_PER_DAY must be an amount of US dollars, e.g. 25 or 7.50',
      ]);
    }
    expect(
      problemsOf({
        API_TOKEN: TOKEN,
        TOKEN_RUN_QUOTA: '10',
        TOKEN_RUN_QUOTA_WINDOW_MS: String(3 * 86_400_000),
        HISTORY_RETENTION_DAYS: '2',
      }),
    ).toEqual([
      'TOKEN_RUN_QUOTA_WINDOW_MS must not be longer than HISTORY_RETENTION_DAYS (the runs it counts would be pruned)',
    ]);
  });

  it('formats the problems as one readable message', () => {
    expect(() => loadConfig({ PORT: 'x', API_TOKEN: TOKEN })).toThrow(
      /^Invalid configuration:\n {2}- PORT/,
    );
  });

  describe('webhooks', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

    it('are off without WEBHOOK_URL', () => {
      expect(loadConfig({ API_TOKEN: TOKEN, WEBHOOK_SECRET: secret }).webhooks).toBeNull();
    });

    it('deliver every event type on the Standard Webhooks schedule by default', () => {
      const config = loadConfig({
        API_TOKEN: TOKEN,
        WEBHOOK_URL: 'https://x.test/h',
        WEBHOOK_SECRET: secret,
      });
      expect(config.webhooks).toEqual({
        url: 'https://x.test/h',
        secret,
        events: ['run.ended', 'ask.requested', 'container.idle_stopped', 'session.deleted'],
        maxAttempts: 8,
        timeoutMs: 10000,
        retryDelaysMs: [5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6],
      });
    });

    it('read the filter and the schedule', () => {
      const config = loadConfig({
        API_TOKEN: TOKEN,
        WEBHOOK_URL: 'http://127.0.0.1:9/h',
        WEBHOOK_SECRET: secret,
        WEBHOOK_EVENTS: 'run.ended',
        WEBHOOK_RETRY_DELAYS: '200ms, 1s,2m,1h',
      });
      expect(config.webhooks).toMatchObject({
        events: ['run.ended'],
        retryDelaysMs: [200, 1000, 120000, 3600000],
      });
    });

    it('need a secret with a URL, and name each bad value without repeating the secret', () => {
      expect(problemsOf({ API_TOKEN: TOKEN, WEBHOOK_URL: 'https://x.test/h' })).toEqual([
        'WEBHOOK_SECRET is required when WEBHOOK_URL is set',
      ]);
      const problems = problemsOf({
        API_TOKEN: TOKEN,
        WEBHOOK_URL: 'ftp://x.test/h',
        WEBHOOK_SECRET: 'whsec_dG9vLXNob3J0',
        WEBHOOK_EVENTS: 'run.ended,run.started',
        WEBHOOK_RETRY_DELAYS: '5s,soon',
      });
      expect(problems).toEqual([
        'WEBHOOK_URL must be an http:// or https:// URL',
        'WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes',
        'WEBHOOK_EVENTS entries must be among run.ended, ask.requested, container.idle_stopped, session.deleted',
        'WEBHOOK_RETRY_DELAYS must list durations such as 5s, 5m, 30m, 2h',
      ]);
      expect(problems.join('\n')).not.toContain('dG9vLXNob3J0');
    });
  });
});
