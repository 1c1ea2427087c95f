// The ```ts blocks of every README, for the smoke project to type-check as a user would, one module per example.
// A block is a whole example when it imports what it uses; a block without an import continues an earlier one
// and is skipped, unless marked. HTML comments right above a block (invisible on the rendered page) say more:
//   <!-- continues the example above -->   appended to the previous checked example's module (a walkthrough)
//   <!-- given: declare const id: string -->   declarations the prose takes for granted, put before the block
//   <!-- fragment: not type-checked -->   skipped even though it imports (a shape, not code)
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const FRAGMENT = /^<!-- fragment: not type-checked -->$/
const CONTINUES = /^<!-- continues the example above -->$/
const GIVEN = /^<!-- given: (.*) -->$/

/** The HTML comment lines right above line `index` (blank lines between them are allowed). */
function markersAbove(lines, index) {
  const markers = []
  for (let at = index - 1; at >= 0; at--) {
    const line = lines[at].trim()
    if (line === '') continue
    if (!line.startsWith('<!--')) break
    markers.unshift(line)
  }
  return markers
}

export function extractExamples(root) {
  const readmes = [join(root, 'README.md')]
  for (const name of readdirSync(join(root, 'packages'))) readmes.push(join(root, 'packages', name, 'README.md'))
  const examples = []
  for (const path of readmes) {
    if (!existsSync(path)) continue
    const owner = path === readmes[0] ? 'root' : path.split('/').at(-2)
    const lines = readFileSync(path, 'utf8').split('\n')
    let previous
    for (let index = 0; index < lines.length; index++) {
      if (lines[index].trim() !== '```ts') continue
      const start = index + 1
      const end = lines.findIndex((line, at) => at > index && line.trim() === '```')
      const code = lines.slice(index + 1, end)
      const markers = markersAbove(lines, index)
      index = end
      if (markers.some((marker) => FRAGMENT.test(marker))) continue
      const given = markers.flatMap((marker) => GIVEN.exec(marker)?.[1] ?? []).map((declarations) => declarations.replaceAll('; ', '\n'))
      const body = [...given, ...code].join('\n')
      if (markers.some((marker) => CONTINUES.test(marker)) && previous !== undefined) {
        previous.parts.push(`// README line ${start}\n${body}`)
        continue
      }
      if (!code.some((line) => /^import\s/.test(line))) continue
      previous = { file: `${owner}-line-${start}.ts`, parts: [body] }
      examples.push(previous)
    }
  }
  // `export {}` makes each example a module, so top-level await and its own names are allowed.
  return examples.map(({ file, parts }) => ({ file, code: `${parts.join('\n\n')}\n\nexport {}\n` }))
}
