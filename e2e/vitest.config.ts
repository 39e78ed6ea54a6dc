import { defineConfig } from 'vitest/config'

// End-to-end journeys: a real server process, a real SMTP sink and real Chromium (npm run test:e2e).
// JSX (hono/jsx) is compiled from tsconfig's settings by vitest's oxc transform, as in the root config.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    fileParallelism: false,
    pool: 'forks',
  },
})
