import { ensureServices } from './services'

/** Vitest global setup: every test run starts by making sure PostgreSQL and Redis are up. */
export default async function setup(): Promise<void> {
  await ensureServices()
}
