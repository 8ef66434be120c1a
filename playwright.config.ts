import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.e2e.ts',
  // Builds gateway/dist when it is older than the sources: the suites run the compiled gateway.
  globalSetup: './e2e/support/global-setup.ts',
  outputDir: 'test-results',
  timeout: 60_000,
  // Two cores: two workers keep the machine busy without starving the gateway children.
  workers: 2,
  fullyParallel: true,
  retries: 0,
  // The list, then what did not run and why (a CI run fails if anything did not: see the reporter).
  reporter: [['list'], ['./e2e/support/skipped-tests-reporter.ts']],
  use: { trace: 'off', screenshot: 'only-on-failure' },
  projects: [
    // The extension looks for a gateway on the API ports 5000-5100. The direct, pairing and
    // local-impostor suites start theirs (or an impostor) there and check what the popup says
    // when none answers: two at once saw each other's ("unpaired" instead of "down"). The
    // extension suites run one at a time; the other worker runs the rest.
    { name: 'extension', testMatch: /e2e\/extension\/.*\.e2e\.ts$/, workers: 1 },
    { name: 'e2e', testIgnore: /e2e\/extension\// },
  ],
});
