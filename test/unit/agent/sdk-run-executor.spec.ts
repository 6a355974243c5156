import { cutUtf8 } from '../../../src/agent/sdk-run-executor';

describe('cutUtf8', () => {
  it('never splits a character', () => {
    expect(cutUtf8('aé€😀', 4)).toEqual({ output: 'aé', truncated: true });
    expect(cutUtf8('aé€😀', 6)).toEqual({ output: 'aé€', truncated: true });
    expect(cutUtf8('short', 10)).toEqual({ output: 'short', truncated: false });
  });
});
