import { ApprovalAnswer } from '../../../src/agent/run-executor';
import { canUseTool, cutUtf8 } from '../../../src/agent/sdk-run-executor';

describe('cutUtf8', () => {
  it('never splits a character', () => {
    expect(cutUtf8('aé€😀', 4)).toEqual({ output: 'aé', truncated: true });
    expect(cutUtf8('aé€😀', 6)).toEqual({ output: 'aé€', truncated: true });
    expect(cutUtf8('short', 10)).toEqual({ output: 'short', truncated: false });
  });
});

describe('canUseTool', () => {
  const input = { command: 'rm -rf build/' };
  const options = { signal: new AbortController().signal, toolUseID: 'toolu_1', requestId: 'r1' };

  it('asks with the tool, its input, the suggestions and the tool use id', async () => {
    const askApproval = jest.fn(() => Promise.resolve<ApprovalAnswer>({ behavior: 'allow' }));
    const suggestions = [
      { type: 'setMode' as const, mode: 'acceptEdits' as const, destination: 'session' as const },
    ];
    await canUseTool(askApproval)('Bash', input, { ...options, suggestions });
    expect(askApproval).toHaveBeenCalledWith(
      { tool: 'Bash', input, suggestions, toolUseId: 'toolu_1' },
      options.signal,
    );
  });

  it('allows with the asked input unless the answer edits it', async () => {
    const allow = (answer: ApprovalAnswer) => canUseTool(() => Promise.resolve(answer));
    await expect(allow({ behavior: 'allow' })('Bash', input, options)).resolves.toEqual({
      behavior: 'allow',
      updatedInput: input,
    });
    const edited = { command: 'ls' };
    await expect(
      allow({ behavior: 'allow', updatedInput: edited })('Bash', input, options),
    ).resolves.toEqual({ behavior: 'allow', updatedInput: edited });
  });

  it('hands the rules a person remembered for the session to the CLI', async () => {
    const updatedPermissions = [
      {
        type: 'addRules' as const,
        rules: [{ toolName: 'Bash', ruleContent: 'touch a *' }],
        behavior: 'allow' as const,
        destination: 'session' as const,
      },
    ];
    const allow = canUseTool(() => Promise.resolve({ behavior: 'allow', updatedPermissions }));
    await expect(allow('Bash', input, options)).resolves.toEqual({
      behavior: 'allow',
      updatedInput: input,
      updatedPermissions,
    });
  });

  it('denies with the message, and denies when the approval itself fails (fail closed)', async () => {
    const deny = canUseTool(() => Promise.resolve({ behavior: 'deny', message: 'no' }));
    await expect(deny('Bash', input, options)).resolves.toEqual({
      behavior: 'deny',
      message: 'no',
    });
    const broken = canUseTool(() => Promise.reject(new Error('store down')));
    await expect(broken('Bash', input, options)).resolves.toMatchObject({
      behavior: 'deny',
      message: expect.stringContaining('store down'),
    });
  });
});
