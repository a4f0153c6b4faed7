/** Jest: every test file under a component's test/ folder, compiled by swc. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/api', '<rootDir>/registrar', '<rootDir>/edge', '<rootDir>/embedded', '<rootDir>/shared', '<rootDir>/provisioning', '<rootDir>/console'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/shared/testing/global-setup.ts',
  testSequencer: '<rootDir>/shared/testing/sequencer.js',
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/shared/testing/summary-reporter.js'],
};
