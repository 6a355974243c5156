import { DEFAULT_AGENT_LIMITS } from '../../../../src/common/config/agent-limits';
import { loadConfig } from '../../../../src/common/config/load-config';
import { CONFIG_TOKEN, configProblems } from '../../../support/config-problems';

const TOKEN = CONFIG_TOKEN;

describe('agent limits (AGENT_LIMITS, AGENT_LIMITS_<ENV>)', () => {
  it('gives every environment the built-in defaults when nothing is set', () => {
    const { limits } = loadConfig({ API_TOKEN: TOKEN }).agent;
    expect(Object.keys(limits)).toEqual(['dev', 'staging', 'prod']);
    expect(limits.prod).toEqual(DEFAULT_AGENT_LIMITS);
  });

  it('reads the defaults, then each environment overrides key by key', () => {
    const { limits } = loadConfig({
      API_TOKEN: TOKEN,
      ENVIRONMENTS: 'dev,prod,qa-2',
      AGENT_LIMITS: 'memory=1g, cpus=0.5,pids=256,nofile=2048,tmp=128m,cpuShares=256',
      AGENT_LIMITS_PROD: 'memory=4096m,cpus=2',
      AGENT_LIMITS_QA_2: 'pids=64',
    }).agent;
    expect(limits.dev).toEqual({
      memoryBytes: 1024 ** 3,
      cpus: 0.5,
      pids: 256,
      nofile: 2048,
      tmpMib: 128,
      cpuShares: 256,
    });
    expect(limits.prod).toMatchObject({ memoryBytes: 4 * 1024 ** 3, cpus: 2, pids: 256 });
    expect(limits['qa-2']).toMatchObject({ memoryBytes: 1024 ** 3, pids: 64 });
  });

  it.each([
    [{ AGENT_LIMITS: 'memory=lots' }, 'AGENT_LIMITS: memory must look like 1g (got "lots")'],
    [
      { AGENT_LIMITS: 'memory=1m' },
      'AGENT_LIMITS: memory must be between 64m and 1024g (got "1m")',
    ],
    [{ AGENT_LIMITS: 'cpus=0' }, 'AGENT_LIMITS: cpus must be between 0.01 and 256 (got "0")'],
    [{ AGENT_LIMITS: 'pids=-1' }, 'AGENT_LIMITS: pids must look like 512 (got "-1")'],
    [{ AGENT_LIMITS: 'tmp=1500k' }, 'AGENT_LIMITS: tmp must look like 256m (got "1500k")'],
    [
      { AGENT_LIMITS: 'swap=1g' },
      'AGENT_LIMITS: "swap=1g" is not key=value with a key of memory, cpus, pids, nofile, tmp, cpuShares',
    ],
    [
      { AGENT_LIMITS_DEV: 'memory=128m,tmp=128m' },
      'AGENT_LIMITS_DEV: tmp must be smaller than memory (a full /tmp is held in memory)',
    ],
    [{ AGENT_LIMITS_QA: 'pids=64' }, 'AGENT_LIMITS_QA names no environment of ENVIRONMENTS'],
  ])('refuses %j at boot, naming the problem', (env, problem) => {
    expect(configProblems(env)).toEqual([problem]);
  });

  it('keeps AGENT_WORKDIR inside the workspace volume (the root is read-only)', () => {
    expect(configProblems({ AGENT_WORKDIR: '/srv' })).toEqual([
      'AGENT_WORKDIR must be /workspace or a path under it',
    ]);
    expect(configProblems({ AGENT_WORKDIR: '/workspace/app' })).toEqual([]);
  });
});
