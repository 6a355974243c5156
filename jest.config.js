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

const common = {
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
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
    },
  ],
  // Global only (Jest ignores it per project): e2e runs start real containers and CLIs.
  testTimeout: 120000,
};
