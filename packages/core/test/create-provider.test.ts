import { afterEach, describe, expect, it, vi } from 'vitest'
import { driverLoadError } from '../src/create-provider'
import { ConfigError, createProvider, type DriverOptions, type Provider, registerDriver, registeredDrivers } from '../src/index'

// A stand-in provider: createProvider only routes options to a factory, so no database is involved.
function fakeProvider(driver: string): Provider {
  const fail = () => Promise.reject(new Error('fake provider'))
  return {
    driver,
    query: async () => ({ rows: [], rowCount: 0, command: 'SELECT', fields: [] }),
    transaction: fail,
    connection: fail,
    batch: fail,
    queryMulti: fail,
    stream: () => ({
      [Symbol.asyncIterator]: () => ({ next: fail }),
    }),
    copyFrom: () => {
      throw new Error('fake provider')
    },
    copyTo: () => {
      throw new Error('fake provider')
    },
    listen: fail,
    notify: fail,
    health: async () => ({ status: 'up' }),
    stats: () => ({ size: 0, idle: 0, inUse: 0, pending: 0, max: 0, created: 0, destroyed: 0, timeouts: 0 }),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  }
}

const unregister: (() => void)[] = []
afterEach(() => {
  for (const undo of unregister.splice(0)) undo()
})

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

describe('createProvider', () => {
  it('uses a registered driver and hands it every option except the driver name', async () => {
    const provider = fakeProvider('fake')
    const factory = vi.fn(async (_options: DriverOptions) => provider)
    unregister.push(registerDriver('fake', factory))

    const created = await createProvider({ driver: 'fake', connectionString: 'postgres://x@127.0.0.1/db', max: 4 })
    expect(created).toBe(provider)
    expect(factory).toHaveBeenCalledWith({ connectionString: 'postgres://x@127.0.0.1/db', max: 4 })
  })

  it('accepts a factory that returns the provider synchronously', async () => {
    const provider = fakeProvider('sync')
    unregister.push(registerDriver('sync', () => provider))
    await expect(createProvider({ driver: 'sync' })).resolves.toBe(provider)
  })

  it('says what to install when the pg provider package is missing', async () => {
    const error = await rejection(createProvider({ driver: 'pg', connectionString: 'postgres://127.0.0.1/test' }))
    expect(error.message).toContain('driver "pg" needs @tessera/provider-pg and pg')
    expect(error.message).toContain('`npm install @tessera/provider-pg pg`, or pnpm add / yarn add / bun add')
    // The loader's own error (Node's or, under Vitest, Vite's) is kept as the cause.
    expect(String((error.cause as Error).message)).toContain('@tessera/provider-pg')
  })

  it('says what to install when the postgres.js provider package is missing', async () => {
    const error = await rejection(createProvider({ driver: 'postgres.js' }))
    expect(error.message).toContain('driver "postgres.js" needs @tessera/provider-postgresjs and postgres')
    expect(error.message).toContain('`npm install @tessera/provider-postgresjs postgres`')
  })

  it('rejects an unknown driver and lists the known ones', async () => {
    unregister.push(registerDriver('fake', () => fakeProvider('fake')))
    const error = await rejection(createProvider({ driver: 'mysql' }))
    expect(error.message).toContain('unknown driver "mysql"; known drivers: "pg", "postgres.js", "fake"')
  })

  it('rejects options without a driver name', async () => {
    const error = await rejection(createProvider({ connectionString: 'postgres://127.0.0.1/test' } as never))
    expect(error.message).toContain('driver is undefined; expected one of "pg", "postgres.js"')
  })

  it('rejects a factory that does not return a provider', async () => {
    unregister.push(registerDriver('broken', () => ({ nope: true }) as unknown as Provider))
    const error = await rejection(createProvider({ driver: 'broken' }))
    expect(error.message).toContain('the factory of driver "broken" returned {"nope":true}; expected a Provider')
  })

  it('passes a factory error through unchanged', async () => {
    const invalid = new ConfigError(['max is -1; expected a positive integer'])
    unregister.push(
      registerDriver('strict', () => {
        throw invalid
      }),
    )
    await expect(createProvider({ driver: 'strict', max: -1 })).rejects.toBe(invalid)
  })
})

describe('driverLoadError', () => {
  it('names only the peer when the provider package is installed but its driver is not', () => {
    const cause = Object.assign(new Error("Cannot find package 'pg' imported from /app/node_modules/@tessera/provider-pg/dist/index.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const error = driverLoadError('pg', cause)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain('driver "pg" needs pg: run `pnpm add pg`')
  })

  it('names the packages to install and, for a bundle or an unhoisted install, registerDriver', () => {
    const cause = Object.assign(new Error("Cannot find module '@tessera/provider-pg'"), { code: 'MODULE_NOT_FOUND' })
    const error = driverLoadError('pg', cause)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain('driver "pg" needs @tessera/provider-pg and pg')
    expect(error.message).toContain('`npm install @tessera/provider-pg pg`')
    expect(error.message).toContain('a bundle, or pnpm without hoisting')
    expect(error.message).toContain("`registerDriver('pg', createPgProvider, { replace: true })`")
  })

  it("reads Vite's wording for a missing optional peer as a missing package", () => {
    const cause = new Error('Could not resolve "@tessera/provider-postgresjs" imported by "@tessera/core". Is it installed?')
    const error = driverLoadError('postgres.js', cause)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain('driver "postgres.js" needs @tessera/provider-postgresjs and postgres')
  })

  it('reports any other load failure as such instead of blaming a missing package', () => {
    const cause = new SyntaxError('Unexpected token')
    const error = driverLoadError('postgres.js', cause)
    expect(error).not.toBeInstanceOf(ConfigError)
    expect(error.code).toBe('DRIVER_LOAD_FAILED')
    expect(error.message).toBe('driver "postgres.js": loading @tessera/provider-postgresjs failed: Unexpected token')
    expect(error.cause).toBe(cause)
  })
})

describe('registerDriver', () => {
  it('refuses to replace a built-in or registered driver unless asked to', () => {
    expect(() => registerDriver('pg', () => fakeProvider('pg'))).toThrow(/driver "pg" is already built in; pass \{ replace: true \}/)
    unregister.push(registerDriver('fake', () => fakeProvider('fake')))
    expect(() => registerDriver('fake', () => fakeProvider('fake'))).toThrow(/driver "fake" is already registered/)
  })

  it('replaces a built-in driver with { replace: true } and restores it when unregistered', async () => {
    const provider = fakeProvider('pg')
    const undo = registerDriver('pg', () => provider, { replace: true })
    await expect(createProvider({ driver: 'pg' })).resolves.toBe(provider)
    undo()
    await rejection(createProvider({ driver: 'pg' }))
  })

  it('lists built-in drivers first, then registered ones, and forgets unregistered ones', () => {
    const undo = registerDriver('fake', () => fakeProvider('fake'))
    expect(registeredDrivers()).toEqual(['pg', 'postgres.js', 'fake'])
    undo()
    expect(registeredDrivers()).toEqual(['pg', 'postgres.js'])
  })

  it('rejects a blank name and a factory that is not a function, listing both', () => {
    expect(() => registerDriver(' ', 'nope' as never)).toThrow(ConfigError)
    try {
      registerDriver(' ', 'nope' as never)
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'name is " "; expected a non-empty string',
        'factory is "nope"; expected a function (options) => Provider | Promise<Provider>',
      ])
    }
  })
})
