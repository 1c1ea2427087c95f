// Set by the build (tooling/tsup.base.ts) to the output format; undefined when the sources run directly (tests).
declare const __TESSERA_MODULE_FORMAT__: 'esm' | 'cjs' | undefined

/**
 * Loads an installed package by name, in the module system of the copy of core that asks.
 *
 * Core's CommonJS build must load with `require`: an `import()` from there pulls the package's ESM build and,
 * through it, the ESM copy of core, so a CommonJS user would hold two cores whose errors fail `instanceof`,
 * and Jest (CommonJS by default) refuses `import()` outright.
 */
export async function loadPackage(name: string): Promise<unknown> {
  if (typeof __TESSERA_MODULE_FORMAT__ !== 'undefined' && __TESSERA_MODULE_FORMAT__ === 'cjs') return require(name)
  return import(/* @vite-ignore */ name)
}
