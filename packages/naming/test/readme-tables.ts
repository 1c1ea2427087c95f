import { readFileSync } from 'node:fs'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/**
 * The rows of the README table between `<!-- name:start -->` and `<!-- name:end -->`, each cell
 * as the list of its backtick spans, so the documented examples are the tested ones.
 */
export function readmeTable(name: string): string[][][] {
  const match = new RegExp(`<!-- ${name}:start -->([\\s\\S]*?)<!-- ${name}:end -->`).exec(readme)
  if (!match?.[1]) throw new Error(`README has no ${name} table`)
  return match[1]
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => [...cell.matchAll(/`([^`]*)`/g)].map((span) => span[1] as string)),
    )
}
