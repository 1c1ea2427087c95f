// Optional properties must admit `undefined` explicitly (`name?: T | undefined`), so that users compiling with
// `exactOptionalPropertyTypes` (as `@tsconfig/strictest` does) can pass `{ connectionString: process.env.URL }`.
// `node tooling/optional-properties.mjs [--fix] <files…>` lists (or fixes) every optional property that does not;
// `pnpm check-packages` runs the check on every package's built declarations.
import { readFileSync, writeFileSync } from 'node:fs'
import ts from 'typescript'

function admitsUndefined(type) {
  if (
    type.kind === ts.SyntaxKind.UndefinedKeyword ||
    type.kind === ts.SyntaxKind.AnyKeyword ||
    type.kind === ts.SyntaxKind.UnknownKeyword
  ) {
    return true
  }
  if (ts.isUnionTypeNode(type)) return type.types.some(admitsUndefined)
  if (ts.isParenthesizedTypeNode(type)) return admitsUndefined(type.type)
  return false
}

// Types that must be parenthesised before `| undefined` is appended.
function needsParentheses(type) {
  return ts.isFunctionTypeNode(type) || ts.isConstructorTypeNode(type) || ts.isConditionalTypeNode(type) || ts.isInferTypeNode(type)
}

/** Every optional property or field of `text` whose declared type does not admit `undefined`. */
export function optionalWithoutUndefined(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    const optional = (ts.isPropertySignature(node) || ts.isPropertyDeclaration(node)) && node.questionToken !== undefined
    if (optional && node.type !== undefined && !admitsUndefined(node.type)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source))
      found.push({ line: line + 1, name: node.name.getText(source), type: node.type, source })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function fix(fileName) {
  const text = readFileSync(fileName, 'utf8')
  const found = optionalWithoutUndefined(fileName, text)
  let fixed = text
  // By end position, last first: an edit then only moves text after every position still to be used, also when a
  // property's type literal holds optional properties of its own.
  const byEnd = found.toSorted((a, b) => b.type.getEnd() - a.type.getEnd())
  for (const { type, source } of byEnd) {
    const start = type.getStart(source)
    const end = type.getEnd()
    const original = fixed.slice(start, end)
    const wrapped = needsParentheses(type) ? `(${original})` : original
    fixed = `${fixed.slice(0, start)}${wrapped} | undefined${fixed.slice(end)}`
  }
  if (fixed !== text) writeFileSync(fileName, fixed)
  return found.length
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const fixing = args[0] === '--fix'
  const files = fixing ? args.slice(1) : args
  let total = 0
  for (const file of files) {
    if (fixing) {
      total += fix(file)
      continue
    }
    for (const { line, name } of optionalWithoutUndefined(file, readFileSync(file, 'utf8'))) {
      console.log(`${file}:${line}: ${name}?: lacks | undefined`)
      total++
    }
  }
  console.log(fixing ? `${total} optional properties now admit undefined` : `${total} optional properties lack | undefined`)
  process.exitCode = !fixing && total > 0 ? 1 : 0
}
