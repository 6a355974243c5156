import { stringFieldsChannel } from '../../../../src/common/coordination/replica-bus';

describe('a bus channel of string fields', () => {
  const channel = stringFieldsChannel('wakes', ['env', 'to']);

  it('keeps exactly its fields, and drops any other a sender added', () => {
    expect(channel.parse({ env: 'dev', to: 'b', extra: 'x' })).toEqual({ env: 'dev', to: 'b' });
  });

  it.each([null, 'dev', {}, { env: 'dev' }, { env: 'dev', to: 7 }])(
    'refuses %j, naming the fields it wants',
    (value) => {
      expect(() => channel.parse(value)).toThrow('not a {env, to}');
    },
  );
});
