import { executionsApps } from './executions-app';

describe('permission modes', () => {
  const boot = executionsApps();

  it('keeps bypassPermissions and auto from a client by default, and runs a run that names none in default', async () => {
    const { request, runner, submit } = await boot();
    for (const permissionMode of ['bypassPermissions', 'auto']) {
      const refused = await request('POST', '/api/executions', {
        env: 'dev',
        prompt: 'x',
        permissionMode,
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({
        code: 'PERMISSION_MODE_NOT_ALLOWED',
        message: `permissionMode ${permissionMode} is not allowed in dev; a client may name default, acceptEdits, plan, dontAsk`,
      });
    }
    expect(runner.runs).toHaveLength(0);

    const plain = await runner.runOf(await submit({ prompt: 'no mode' }));
    expect(plain.request.permissionMode).toBe('default');
    const planned = await runner.runOf(await submit({ prompt: 'plan it', permissionMode: 'plan' }));
    expect(planned.request.permissionMode).toBe('plan');
  });

  it("runs an environment's runs in the operator's default mode, the desktop's bypass included, and only there", async () => {
    const { request, runner, submit } = await boot({
      PERMISSION_MODE_DEV: 'bypassPermissions',
      PERMISSION_MODES: 'default,plan',
    });
    const unnamed = await runner.runOf(await submit({ prompt: 'as the desktop does' }));
    expect(unnamed.request.permissionMode).toBe('bypassPermissions');
    // Naming the environment's own default asks for nothing more.
    const named = await runner.runOf(
      await submit({ prompt: 'same', permissionMode: 'bypassPermissions' }),
    );
    expect(named.request.permissionMode).toBe('bypassPermissions');

    const elsewhere = await request('POST', '/api/executions', {
      env: 'staging',
      prompt: 'x',
      permissionMode: 'bypassPermissions',
    });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json()).toMatchObject({ code: 'PERMISSION_MODE_NOT_ALLOWED' });

    // The default never asks: approvals need a mode that does, named.
    const approvals = await request('POST', '/api/executions', {
      env: 'dev',
      prompt: 'x',
      approvals: true,
    });
    expect(approvals.statusCode).toBe(400);
    expect(approvals.json<{ message: string }>().message).toContain(
      "dev's default permissionMode bypassPermissions",
    );
    const asking = await runner.runOf(
      await submit({ prompt: 'ask me', approvals: true, permissionMode: 'default' }),
    );
    expect(asking.request.permissionMode).toBe('default');
    expect(asking.request.askApproval).toBeDefined();
  });

  it('lets a client name bypassPermissions where the operator lists it', async () => {
    const { runner, submit } = await boot({ PERMISSION_MODES_DEV: 'bypassPermissions' });
    const run = await runner.runOf(
      await submit({ prompt: 'x', permissionMode: 'bypassPermissions' }),
    );
    expect(run.request.permissionMode).toBe('bypassPermissions');
  });
});
