import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.e2e.ts',
  outputDir: 'test-results',
  timeout: 60_000,
  // Two cores: two workers keep the machine busy without starving the gateway children.
  workers: 2,
  fullyParallel: true,
  retries: 0,
  reporter: [['list']],
  use: { trace: 'off', screenshot: 'only-on-failure' },
});
