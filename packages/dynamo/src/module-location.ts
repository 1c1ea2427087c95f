import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** The file of this module: CommonJS has `__filename`; the ESM build has `import.meta.url`. */
export function moduleLocation(): string {
  return typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)
}

/**
 * Loads a CommonJS-capable dependency synchronously, on first use, from this package's location: for heavy
 * dependencies that only a rarely used function needs (importing this package does not pay for them).
 */
export function requireLazily<T>(request: string): T {
  return createRequire(moduleLocation())(request) as T
}
