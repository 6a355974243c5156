import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLAUDE_CODE_VERSION,
  DEFAULT_AGENT_IMAGE,
} from '../../../src/common/config/environment-variables';

const root = join(__dirname, '..', '..', '..');

describe('Claude Code versions', () => {
  const dockerfile = readFileSync(join(root, 'docker', 'agent', 'Dockerfile'), 'utf8');
  const cliVersion = /^ARG CLAUDE_CODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const sdkVersion = packageJson.dependencies['@anthropic-ai/claude-agent-sdk'];

  it('pins the CLI in the agent image to the version the service expects', () => {
    expect(cliVersion).toBe(CLAUDE_CODE_VERSION);
  });

  it('names the same agent image in docker-compose.yml (where the version is written again)', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const agentImages = [...compose.matchAll(/\b(claudecode-agent:\S+)/g)].map((match) => match[1]);
    expect(agentImages.length).toBeGreaterThan(0);
    expect(new Set(agentImages)).toEqual(new Set([DEFAULT_AGENT_IMAGE]));
  });

  it('keeps the Agent SDK in lockstep with the CLI (SDK 0.3.N drives CLI 2.1.N)', () => {
    expect(sdkVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const [, cliMinor, cliPatch] = (cliVersion ?? '').split('.');
    expect(sdkVersion).toBe(`0.${Number(cliMinor) + 2}.${cliPatch}`);
  });
});
