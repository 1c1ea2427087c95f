// The ```ts blocks of every README that are whole examples (they import what they use), one module each, for the
// smoke project to type-check as a user would. A block without an import continues an earlier one and is skipped;
// a block that imports but is still not meant to compile is preceded by the line `<!-- fragment: not type-checked -->`.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const FRAGMENT = '<!-- fragment: not type-checked -->'

export function extractExamples(root) {
  const readmes = [join(root, 'README.md')]
  for (const name of readdirSync(join(root, 'packages'))) readmes.push(join(root, 'packages', name, 'README.md'))
  const examples = []
  for (const path of readmes) {
    if (!existsSync(path)) continue
    const owner = path === readmes[0] ? 'root' : path.split('/').at(-2)
    const lines = readFileSync(path, 'utf8').split('\n')
    let block
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]
      if (block === undefined && line.trim() === '```ts') {
        const skip =
          lines
            .slice(0, index)
            .findLast((previous) => previous.trim() !== '')
            ?.trim() === FRAGMENT
        block = { start: index + 1, code: [], skip }
      } else if (block !== undefined && line.trim() === '```') {
        const whole = block.code.some((code) => /^import\s/.test(code))
        if (whole && !block.skip) {
          // `export {}` makes the block a module, so top-level await and its own names are allowed.
          examples.push({ file: `${owner}-line-${block.start}.ts`, code: `${block.code.join('\n')}\n\nexport {}\n` })
        }
        block = undefined
      } else if (block !== undefined) {
        block.code.push(line)
      }
    }
  }
  return examples
}
