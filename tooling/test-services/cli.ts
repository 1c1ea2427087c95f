import { ensureServices, services } from './services'

try {
  await ensureServices()
  for (const service of services) console.log(`${service.name}: up`)
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
}
