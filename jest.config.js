// The swagger plugin's AST transformer runs under ts-jest too, so tests see the same
// OpenAPI metadata as `nest build` (the spec drift test depends on it).

const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      tsconfig: 'tsconfig.json',
      astTransformers: {
        before: ['<rootDir>/test/swagger-transformer.js'],
      },
    },
  ],
};

// The client is ESM source with `.js` import specifiers; Jest resolves them to the .ts files.
// The LifeOS adapter imports the client by its package name, as LifeOS does, and reads Vite's
// `import.meta.env` (which CommonJS cannot parse) through a module that tests replace.
const moduleNameMapper = {
  '^(\\.{1,2}/.*)\\.js$': '$1',
  '^@lifeos/claudecode-api-client$': '<rootDir>/client/src/index.ts',
  '^\\./claudecode-vite-env$': '<rootDir>/test/support/vite-env.ts',
};

const common = {
  moduleNameMapper,
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: __dirname,
  transform,
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'],
    },
    {
      // The executions feature in-process: a fake RunExecutor, a temporary SQLite store, no Docker.
      ...common,
      displayName: 'medium',
      testMatch: ['<rootDir>/test/medium/**/*.medium-spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
    },
    {
      // Swagger UI in Debian's chromium (scripts/ensure-chromium.sh), driven by playwright-core.
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
    },
  ],
  // Global only (Jest ignores it per project): e2e runs start real containers and CLIs.
  testTimeout: 120000,
  // Jest keeps much of every test file's modules alive in the process that ran it: in one
  // process the heap grew by ~30 MB a file, to 3.4 GB of a 4.3 GB limit, and the GC's pauses then
  // broke tests that wait a few seconds for an answer. So the tests run in a worker (one, on two
  // cores), which Jest replaces once its heap is past this after a file.
  workerIdleMemoryLimit: '1GB',
  // After every project: a socket, server or child process left open in Jest's own process
  // fails the run, named, instead of keeping Jest alive until CI's timeout.
  globalTeardown: '<rootDir>/test/leak-check.ts',
};
