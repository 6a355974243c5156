import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../src/common/config/load-config';
import {
  CONFIG_TOKEN as TOKEN,
  configProblems as problemsOf,
} from '../../../support/config-problems';

/** A folder with ca.pem, cert.pem and key.pem (their content is not read at boot). */
function tlsDir(files: readonly string[] = ['ca.pem', 'cert.pem', 'key.pem']): string {
  const dir = mkdtempSync(join(tmpdir(), 'cca-tls-'));
  for (const file of files) writeFileSync(join(dir, file), 'pem');
  return dir;
}

describe('the pool of Docker hosts (DOCKER_HOSTS, DOCKER_HOST_<ENV>, DOCKER_TLS_DIR_<HOST>)', () => {
  it('is one host named local from DOCKER_SOCKET when DOCKER_HOSTS is unset', () => {
    expect(loadConfig({ API_TOKEN: TOKEN }).docker).toEqual({
      timeoutMs: 15000,
      hosts: [
        { name: 'local', connection: { kind: 'socket', socketPath: '/var/run/docker.sock' } },
      ],
      pins: {},
    });
  });

  it('reads unix, tcp, https with TLS files, and ssh hosts in their order', () => {
    const tls = tlsDir();
    const config = loadConfig({
      API_TOKEN: TOKEN,
      DOCKER_HOSTS:
        'local=unix:///var/run/docker.sock, plain=tcp://10.0.0.2:2375, secure=tcp://agents.example:2376, far=ssh://deploy@far.example:2222',
      DOCKER_TLS_DIR_SECURE: tls,
      SSH_AUTH_SOCK: '/run/ssh-agent.sock',
    });
    expect(config.docker.hosts).toEqual([
      { name: 'local', connection: { kind: 'socket', socketPath: '/var/run/docker.sock' } },
      {
        name: 'plain',
        connection: { kind: 'tcp', protocol: 'http', host: '10.0.0.2', port: 2375 },
      },
      {
        name: 'secure',
        connection: {
          kind: 'tcp',
          protocol: 'https',
          host: 'agents.example',
          port: 2376,
          tls: {
            caPath: join(tls, 'ca.pem'),
            certPath: join(tls, 'cert.pem'),
            keyPath: join(tls, 'key.pem'),
          },
        },
      },
      {
        name: 'far',
        connection: {
          kind: 'ssh',
          host: 'far.example',
          port: 2222,
          username: 'deploy',
          agentSocket: '/run/ssh-agent.sock',
        },
      },
    ]);
  });

  it('pins environments to hosts of the pool', () => {
    const config = loadConfig({
      API_TOKEN: TOKEN,
      ENVIRONMENTS: 'dev,qa-1',
      DOCKER_HOSTS: 'a=unix:///a.sock,b=unix:///b.sock',
      DOCKER_HOST_QA_1: 'b',
    });
    expect(config.docker.pins).toEqual({ 'qa-1': 'b' });
  });

  it('accepts a pin to local without DOCKER_HOSTS', () => {
    expect(loadConfig({ API_TOKEN: TOKEN, DOCKER_HOST_DEV: 'local' }).docker.pins).toEqual({
      dev: 'local',
    });
  });

  it('names every bad value in one error', () => {
    const problems = problemsOf({
      ENVIRONMENTS: 'dev,prod',
      DOCKER_HOSTS:
        'a=unix:///a.sock,a=unix:///again.sock,Bad Name=unix:///x.sock,nourl,b=ftp://x,c=unix://relative,d=https://d.example',
      DOCKER_HOST_DEV: 'z',
      DOCKER_HOST_STAGE: 'a',
      DOCKER_TLS_DIR_E: '/somewhere',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'DOCKER_HOSTS names the host "a" twice',
        'DOCKER_HOSTS: "Bad Name=unix:///x.sock" is not <name>=<address> with a name matching ^[a-z0-9][a-z0-9-]{0,31}$',
        'DOCKER_HOSTS: "nourl" is not <name>=<address> with a name matching ^[a-z0-9][a-z0-9-]{0,31}$',
        'DOCKER_HOSTS: host "b" must be unix:///path, tcp://host:port, https://host:port or ssh://user@host (got "ftp://x")',
        'DOCKER_HOSTS: host "c" must be unix:///path, tcp://host:port, https://host:port or ssh://user@host (got "unix://relative")',
        'DOCKER_HOSTS: host "d" is https but DOCKER_TLS_DIR_D is not set (ca.pem, cert.pem, key.pem) (got "https://d.example")',
        'DOCKER_HOST_DEV: "z" is no host of the pool (a)',
        'DOCKER_HOST_STAGE names no environment of ENVIRONMENTS',
        'DOCKER_TLS_DIR_E names no host of DOCKER_HOSTS',
      ]),
    );
    expect(problems.filter((problem) => problem.includes('DOCKER'))).toHaveLength(9);
  });

  it('refuses TLS folders that lack a file, and TLS over http://', () => {
    const partial = tlsDir(['ca.pem', 'cert.pem']);
    expect(
      problemsOf({
        DOCKER_HOSTS: 'a=tcp://a.example,b=http://b.example',
        DOCKER_TLS_DIR_A: partial,
        DOCKER_TLS_DIR_B: tlsDir(),
      }),
    ).toEqual([
      `DOCKER_TLS_DIR_A: ${join(partial, 'key.pem')} is missing or not readable`,
      'DOCKER_HOSTS: host "b" has DOCKER_TLS_DIR_B set, so it must be tcp:// or https://, not http:// (got "http://b.example")',
    ]);
  });

  it('refuses DOCKER_HOST and DOCKER_HOSTS together', () => {
    expect(
      problemsOf({ DOCKER_HOST: 'tcp://proxy:2375', DOCKER_HOSTS: 'a=unix:///a.sock' }),
    ).toEqual(['DOCKER_HOST and DOCKER_HOSTS are both set; give the engines in DOCKER_HOSTS']);
  });
});
