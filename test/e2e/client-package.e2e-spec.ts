import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** Runs a command; a failure says what it printed (tsc prints its errors on stdout). */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${failed.stdout}${failed.stderr}`);
  }
}

describe('the client package, as LifeOS installs it from the repository', () => {
  let project: string;
  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'lifeos-client-install-'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('packs with its build, installs from the tarball, imports and type-checks', () => {
    const tarball = join(ROOT, run('bash', ['scripts/pack-client.sh'], ROOT).trim());

    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'lifeos-like', private: true, type: 'module' }),
    );
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
      project,
    );

    // At run time: the entry point and what it re-exports.
    const exported = run(
      'node',
      [
        '--input-type=module',
        '-e',
        "const c = await import('@lifeos/claudecode-api-client'); console.log(Object.keys(c).sort().join(','));",
      ],
      project,
    );
    expect(exported.trim().split(',')).toEqual(
      expect.arrayContaining([
        'createClaudeCodeClient',
        'streamExecution',
        'answerApproval',
        'eventSourceUrl',
      ]),
    );

    // At compile time, as a Vite app resolves it: the routes' types come along.
    writeFileSync(
      join(project, 'uses-client.ts'),
      [
        "import { createClaudeCodeClient, type components } from '@lifeos/claudecode-api-client';",
        "const client = createClaudeCodeClient({ baseUrl: 'https://claudecode.test', token: 't' });",
        "export const status = client.GET('/api/containers/{env}', { params: { path: { env: 'dev' } } });",
        "export const running: components['schemas']['ContainerStatusDto']['running'] = true;",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'ESNext',
          moduleResolution: 'bundler',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['uses-client.ts'],
      }),
    );
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
  });
});
