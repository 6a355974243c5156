import { parsePermissionPolicies } from '../../../../src/common/config/permission-policy';

const ENVIRONMENTS = ['dev', 'qa-1', 'prod'];

function parse(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const policies = parsePermissionPolicies(env, ENVIRONMENTS, problems);
  return { policies, problems };
}

describe('parsePermissionPolicies', () => {
  it('keeps bypassPermissions and auto from clients unless the operator lists them', () => {
    const { policies, problems } = parse({});
    expect(problems).toEqual([]);
    for (const env of ENVIRONMENTS) {
      expect(policies[env].defaultMode).toBe('default');
      expect(policies[env].allowed).not.toContain('bypassPermissions');
      expect(policies[env].allowed).not.toContain('auto');
    }
  });

  it('lets one environment replace the default mode and the allowed modes of all', () => {
    const { policies, problems } = parse({
      PERMISSION_MODE: 'acceptEdits',
      PERMISSION_MODE_QA_1: 'bypassPermissions',
      PERMISSION_MODES: 'default, plan, plan',
      PERMISSION_MODES_PROD: 'plan',
    });
    expect(problems).toEqual([]);
    expect(policies.dev).toEqual({ defaultMode: 'acceptEdits', allowed: ['default', 'plan'] });
    expect(policies['qa-1']).toEqual({
      defaultMode: 'bypassPermissions',
      allowed: ['default', 'plan'],
    });
    expect(policies.prod).toEqual({ defaultMode: 'acceptEdits', allowed: ['plan'] });
  });

  it('names each bad value, and an override of no environment', () => {
    const { problems } = parse({
      PERMISSION_MODE: 'yolo',
      PERMISSION_MODES_DEV: 'plan,sudo',
      PERMISSION_MODES_STAGING: 'plan',
      PERMISSION_MODE_PROD: ' ',
    });
    expect(problems).toEqual([
      'PERMISSION_MODES_STAGING names no environment of ENVIRONMENTS',
      expect.stringMatching(/^PERMISSION_MODE must be one of default, .* \(got "yolo"\)$/),
      expect.stringMatching(/^PERMISSION_MODES_DEV must be a comma list of .* \(unknown: sudo\)$/),
    ]);
  });
});
