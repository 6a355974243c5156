/** Names Nest probes on every provider; a mock must not fail on those. */
const PROBED = new Set([
  'then',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
  'constructor',
]);

/**
 * A mock that fails loudly when code calls a method the test did not stub, instead of quietly
 * returning undefined.
 */
export function strictMock<T extends object>(
  name: string,
  stubs: Partial<jest.Mocked<T>> = {},
): jest.Mocked<T> {
  return new Proxy(stubs, {
    get(target, property) {
      if (property in target) return target[property as keyof typeof target];
      if (typeof property === 'symbol' || PROBED.has(property)) return undefined;
      return () => {
        throw new Error(`${name}.${property}() was called but the test did not stub it`);
      };
    },
  }) as jest.Mocked<T>;
}
