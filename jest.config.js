// Jest runs TypeScript as native ESM (node --experimental-vm-modules, see package.json),
// transpiled by swc without type-checking; `npm run typecheck` is the type gate.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  globalTeardown: '<rootDir>/test/global-teardown.ts',
};
