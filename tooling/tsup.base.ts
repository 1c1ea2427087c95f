import type { Options } from 'tsup'

/**
 * The build every package shares: ESM + CJS with declarations for both (`.d.ts` / `.d.cts`).
 * Declarations are built without the `@tessera/source` condition so that a package's types
 * refer to its siblings' published declarations, never to their sources.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { customConditions: [], composite: false } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    // Lets a module tell the CommonJS build from the ESM one (core's loadPackage loads with `require` in CJS).
    esbuildOptions(options, context) {
      options.define = { ...options.define, __TESSERA_MODULE_FORMAT__: JSON.stringify(context.format) }
      // The maps point into `src/`, which every package ships: embedding the sources again would double them.
      options.sourcesContent = false
    },
    ...overrides,
  }
}
