import type { Provider } from './contracts'
import type { CreateProviderOptions, DriverOptionsMap } from './driver-options'
import { ConfigError, describeValue, TesseraError } from './errors'
import { loadPackage } from './load-package'

export type { CreateProviderOptions } from './driver-options'

/** The drivers Tessera ships a provider package for. */
export type BuiltInDriver = 'pg' | 'postgres.js'

/** Options handed to a driver factory: everything given to `createProvider` except `driver`. */
export type DriverOptions = Record<string, unknown>

/** Builds a provider from options. Registered with {@link registerDriver}. */
export type DriverFactory = (options: DriverOptions) => Provider | Promise<Provider>

/** Options of {@link registerDriver}. */
export interface RegisterDriverOptions {
  /** Allow replacing a built-in or already registered driver of the same name. Default: `false`. */
  replace?: boolean | undefined
}

interface BuiltIn {
  /** The provider package, loaded on demand. */
  packageName: string
  /** The factory that package exports. */
  factoryName: string
  /** The driver library the provider package needs as a peer. */
  peerName: string
}

// Held in a plain object, never written as `import('@tessera/provider-pg')`, so that neither TypeScript nor
// the bundler tries to resolve packages that depend on core (and may well not be installed).
const BUILT_INS: Readonly<Record<BuiltInDriver, BuiltIn>> = {
  pg: { packageName: '@tessera/provider-pg', factoryName: 'createPgProvider', peerName: 'pg' },
  'postgres.js': { packageName: '@tessera/provider-postgresjs', factoryName: 'createPostgresJsProvider', peerName: 'postgres' },
}

// Kept on globalThis so that an ESM and a CJS copy of core loaded side by side share one registry.
const REGISTRY_KEY = Symbol.for('tessera.drivers')

function registry(): Map<string, DriverFactory> {
  const holder = globalThis as { [REGISTRY_KEY]?: Map<string, DriverFactory> | undefined }
  let found = holder[REGISTRY_KEY]
  if (found === undefined) {
    found = new Map()
    holder[REGISTRY_KEY] = found
  }
  return found
}

function isBuiltIn(name: string): name is BuiltInDriver {
  return Object.hasOwn(BUILT_INS, name)
}

/**
 * Plugs in a driver for {@link createProvider}. A name already taken, built-in or registered, is refused
 * unless `{ replace: true }`.
 *
 * @returns a function that removes this registration again, bringing back what it replaced.
 * @throws ConfigError for an empty name, a factory that is not a function, or a taken name.
 * @example
 * registerDriver('pglite', (options) => createPgliteProvider(options))
 * const db = await createProvider({ driver: 'pglite', dataDir: './db' })
 */
export function registerDriver(name: string, factory: DriverFactory, options: RegisterDriverOptions = {}): () => void {
  const problems: string[] = []
  if (typeof name !== 'string' || name.trim() === '') problems.push(`name is ${describeValue(name)}; expected a non-empty string`)
  if (typeof factory !== 'function') {
    problems.push(`factory is ${describeValue(factory)}; expected a function (options) => Provider | Promise<Provider>`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'driver registration' })

  const drivers = registry()
  const previous = drivers.get(name)
  const taken = previous !== undefined || isBuiltIn(name)
  if (taken && options.replace !== true) {
    throw new ConfigError(`driver "${name}" is already ${previous ? 'registered' : 'built in'}; pass { replace: true } to replace it`, {
      subject: 'driver registration',
    })
  }
  drivers.set(name, factory)
  return () => {
    // Only undo our own registration: a later one may have replaced it since.
    if (drivers.get(name) !== factory) return
    if (previous === undefined) drivers.delete(name)
    else drivers.set(name, previous)
  }
}

/** The driver names {@link createProvider} accepts: the built-in ones, then registered ones in registration order. */
export function registeredDrivers(): string[] {
  const names = new Set<string>(Object.keys(BUILT_INS))
  for (const name of registry().keys()) names.add(name)
  return [...names]
}

/**
 * Creates a provider for the named driver. Built-in drivers load their provider package on demand, so only
 * the one you use needs to be installed; when it is missing the error says what to install. Every other
 * option goes to the driver's factory unchanged (without `driver`).
 *
 * @throws ConfigError for an unknown driver (listing the known ones) or a provider package that is not
 *   installed (naming the install command). Errors from the driver's own option checks pass through.
 * @example
 * const db = await createProvider({ driver: 'pg', connectionString: process.env.DATABASE_URL })
 */
// `string & Record<never, never>` keeps editor completion for the built-in names while accepting any string.
export async function createProvider<Driver extends keyof DriverOptionsMap | (string & Record<never, never>)>(
  options: CreateProviderOptions<Driver>,
): Promise<Provider> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`options are ${describeValue(options)}; expected an object such as { driver: 'pg', connectionString }`, {
      subject: 'createProvider options',
    })
  }
  const { driver, ...rest } = options as { driver: unknown } & Record<string, unknown>
  if (typeof driver !== 'string' || driver === '') {
    throw new ConfigError(`driver is ${describeValue(driver)}; expected one of ${listDrivers()}`, { subject: 'createProvider options' })
  }

  const registered = registry().get(driver)
  if (registered !== undefined) return checkProvider(driver, await registered(rest))
  if (isBuiltIn(driver)) return checkProvider(driver, await loadBuiltIn(driver, BUILT_INS[driver], rest))
  throw new ConfigError(`unknown driver ${describeValue(driver)}; known drivers: ${listDrivers()}`, { subject: 'createProvider options' })
}

function listDrivers(): string {
  return registeredDrivers()
    .map((name) => `"${name}"`)
    .join(', ')
}

async function loadBuiltIn(driver: BuiltInDriver, builtIn: BuiltIn, options: DriverOptions): Promise<Provider> {
  const { packageName, factoryName } = builtIn
  let loaded: unknown
  try {
    loaded = await loadPackage(packageName)
  } catch (error) {
    throw driverLoadError(driver, error)
  }
  const factory = findExport(loaded, factoryName)
  if (factory === undefined) {
    throw new ConfigError(
      `the installed ${packageName} does not export ${factoryName}(); update it: run \`pnpm add ${packageName}@latest\``,
      {
        subject: `driver "${driver}"`,
      },
    )
  }
  return factory(options)
}

// A CJS build imported from ESM may expose its exports only under `default`.
function findExport(loaded: unknown, name: string): DriverFactory | undefined {
  if (typeof loaded !== 'object' || loaded === null) return undefined
  const direct = (loaded as Record<string, unknown>)[name]
  if (typeof direct === 'function') return direct as DriverFactory
  const fallback = (loaded as { default?: unknown }).default
  if (typeof fallback !== 'object' || fallback === null) return undefined
  const nested = (fallback as Record<string, unknown>)[name]
  return typeof nested === 'function' ? (nested as DriverFactory) : undefined
}

/**
 * Turns a failed `import()` of a built-in provider package into an error that says what to install.
 * @internal Exported for tests only.
 */
export function driverLoadError(driver: BuiltInDriver, error: unknown): TesseraError {
  const { packageName, peerName, factoryName } = BUILT_INS[driver]
  const missing = missingModule(error)
  if (missing === packageName) {
    // Installed but out of reach is common too: a bundle (esbuild, webpack…) has no node_modules to load from at
    // run time, and pnpm without hoisting hides a package from core unless core lists it (an optional peer).
    return new ConfigError(
      `driver "${driver}" needs ${packageName} and ${peerName}, and ${packageName} could not be loaded: ` +
        `install both (\`npm install ${packageName} ${peerName}\`, or pnpm add / yarn add / bun add). ` +
        `If they are installed, this copy of @tessera/core cannot reach them (a bundle, or pnpm without hoisting): ` +
        `call ${factoryName}() from ${packageName} directly, or plug it in once with ` +
        `\`registerDriver('${driver}', ${factoryName}, { replace: true })\``,
      { cause: error, subject: 'createProvider options' },
    )
  }
  if (missing === peerName) {
    return new ConfigError(`driver "${driver}" needs ${peerName}: run \`pnpm add ${peerName}\` (or \`npm install ${peerName}\`)`, {
      cause: error,
      subject: 'createProvider options',
    })
  }
  const reason = error instanceof Error ? error.message : describeValue(error)
  return new TesseraError(`driver "${driver}": loading ${packageName} failed: ${reason}`, { code: 'DRIVER_LOAD_FAILED', cause: error })
}

/** The package a module-not-found error is about, or `undefined` for any other error. */
function missingModule(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (typeof message !== 'string') return undefined
  // Node (ESM: "Cannot find package 'x' imported from …", CJS: "Cannot find module 'x'") and Vite ("Failed to load
  // url x", and for a declared optional peer "Could not resolve "x" imported by …") phrase it differently; all of
  // them quote or name the specifier.
  const isNotFound =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /cannot find (package|module)|failed to load url|could not resolve/i.test(message)
  if (!isNotFound) return undefined
  const named = /(?:package|module|url|resolve) ['"]?((?:@[^/'"\s]+\/)?[^/'"\s]+)/i.exec(message)
  return named?.[1]
}

function checkProvider(driver: string, provider: unknown): Provider {
  if (typeof provider === 'object' && provider !== null && typeof (provider as { query?: unknown }).query === 'function') {
    return provider as Provider
  }
  throw new ConfigError(
    `the factory of driver "${driver}" returned ${describeValue(provider)}; expected a Provider (an object with query())`,
    {
      subject: 'driver',
    },
  )
}
