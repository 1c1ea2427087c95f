import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { CompiledExpression, ExpressionCache } from './expression-cache'

/**
 * A path into an attribute (`address.city`, `tags[0]`): its segments (attribute and map entry names, list
 * positions), and a text that identifies it in expression shapes. Made by {@link attributePath}, which returns the
 * same object for the same path, so building an expression finds it in the shape tree without hashing text.
 */
export interface AttributePath {
  readonly segments: readonly (string | number)[]
  readonly text: string
}

/** What an expression names: a top-level attribute, or a path into one. */
export type Attr = string | AttributePath

const paths = new Map<string, AttributePath>()
/** Paths kept for reuse; past this many distinct paths the table starts over. */
const MAX_PATHS = 10_000

/** The path of `segments` (the first is the stored attribute name), one object per distinct path. */
export function attributePath(segments: readonly (string | number)[]): AttributePath {
  // \u0001 cannot start a path's shape text by accident (a top-level attribute's text is its name).
  const text = `\u0001${JSON.stringify(segments)}`
  let found = paths.get(text)
  if (!found) {
    if (paths.size >= MAX_PATHS) paths.clear()
    found = { segments: [...segments], text }
    paths.set(text, found)
  }
  return found
}

function attrText(attr: Attr): string {
  return typeof attr === 'string' ? attr : attr.text
}

/** A comparison operator as DynamoDB writes it. */
export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>='

/**
 * A condition as a tree over stored attribute names, values already marshalled. Built from the user's condition
 * objects (see `conditions.ts`) and from Tessera's own (versions, keys).
 */
export type Cond =
  | { readonly type: 'cmp'; readonly attr: Attr; readonly op: Comparator; readonly values: readonly [AttributeValue] }
  | { readonly type: 'between'; readonly attr: Attr; readonly values: readonly [AttributeValue, AttributeValue] }
  | { readonly type: 'in'; readonly attr: Attr; readonly values: readonly AttributeValue[] }
  | {
      readonly type: 'fn'
      readonly fn: 'begins_with' | 'contains' | 'attribute_type'
      readonly attr: Attr
      readonly values: readonly [AttributeValue]
    }
  | { readonly type: 'exists' | 'notExists'; readonly attr: Attr }
  | { readonly type: 'size'; readonly attr: Attr; readonly op: Comparator; readonly values: readonly [AttributeValue] }
  | { readonly type: 'and' | 'or'; readonly children: readonly Cond[] }
  | { readonly type: 'not'; readonly child: Cond }

/** One action of an update expression. */
export type UpdateAction =
  | {
      readonly type: 'set' | 'setIfNotExists' | 'append' | 'prepend' | 'increment' | 'add' | 'delete'
      readonly attr: string
      readonly value: AttributeValue
    }
  | { readonly type: 'remove'; readonly attr: string }

/** Everything a request's expressions are built from. */
export interface ExpressionParts {
  keyCondition?: Cond | undefined
  /**
   * An object standing for the key condition's shape (the same object for the same shape, a different one for any
   * other): the walk takes it as one token instead of walking the condition.
   */
  keyShape?: object | undefined
  filter?: Cond | undefined
  /**
   * A filter the same for every request of its owner (a model's entity marker), joined to `filter` with AND. It must
   * be one object kept for reuse: the shape walk takes it as one token, by identity.
   */
  constantFilter?: Cond | undefined
  condition?: Cond | undefined
  update?: readonly UpdateAction[] | undefined
  projection?: readonly string[] | undefined
}

/** The expression fields of a DynamoDB request. */
export interface ExpressionRequestFields {
  KeyConditionExpression?: string
  FilterExpression?: string
  ConditionExpression?: string
  UpdateExpression?: string
  ProjectionExpression?: string
  ExpressionAttributeNames?: Record<string, string>
  ExpressionAttributeValues?: Record<string, AttributeValue>
}

/** Joins conditions with AND, dropping `undefined`s; `undefined` when none is left. */
export function allOf(first: Cond | undefined, second: Cond | undefined): Cond | undefined {
  if (first === undefined) return second
  if (second === undefined) return first
  return { type: 'and', children: [first, second] }
}

/**
 * Builds the expressions of a request: the shape (attributes and operators) picks a cached build, and only the
 * values are bound anew. Every attribute goes through an `ExpressionAttributeNames` placeholder.
 */
export function buildExpressions<T extends ExpressionRequestFields = ExpressionRequestFields>(
  cache: ExpressionCache,
  operation: string,
  parts: ExpressionParts,
  /** Where the fields are written (a request's input); a new object by default. */
  fields: T = {} as T,
): T {
  const values: AttributeValue[] = []
  // The shape's text is looked up through a tree of its tokens (constant strings: operators and attribute names),
  // so a repeated shape neither concatenates nor hashes a new string.
  const walk: ShapeWalk = { tree: shapeTreeOf(cache), node: undefined as unknown as ShapeNode }
  walk.node = step(walk, walk.tree.root, operation)
  if (parts.keyCondition && parts.keyShape) {
    walk.node = step(walk, step(walk, walk.node, '|K'), parts.keyShape)
    collectValues(parts.keyCondition, values)
  } else if (parts.keyCondition) condTokens(walk, '|k', parts.keyCondition, values)
  if (parts.filter) condTokens(walk, '|f', parts.filter, values)
  if (parts.constantFilter) {
    walk.node = step(walk, step(walk, walk.node, '|e'), parts.constantFilter)
    collectValues(parts.constantFilter, values)
  }
  if (parts.condition) condTokens(walk, '|c', parts.condition, values)
  if (parts.update) {
    walk.node = step(walk, walk.node, '|u')
    for (const action of parts.update) {
      if (action.type !== 'remove') values.push(action.value)
      walk.node = step(walk, step(walk, walk.node, action.type), action.attr)
    }
  }
  if (parts.projection) {
    walk.node = step(walk, walk.node, '|p')
    for (const attr of parts.projection) walk.node = step(walk, walk.node, attr)
  }
  const shape = (walk.node.shape ??= shapeText(operation, parts))
  const compiled = cache.get(shape, () => render(parts))
  if (compiled.keyCondition !== undefined) fields.KeyConditionExpression = compiled.keyCondition
  if (compiled.filter !== undefined) fields.FilterExpression = compiled.filter
  if (compiled.condition !== undefined) fields.ConditionExpression = compiled.condition
  if (compiled.update !== undefined) fields.UpdateExpression = compiled.update
  if (compiled.projection !== undefined) fields.ProjectionExpression = compiled.projection
  // A copy: the SDK may keep the object, and the cached one must never change.
  fields.ExpressionAttributeNames = { ...compiled.names }
  if (values.length > 0) {
    const bound: Record<string, AttributeValue> = {}
    for (let index = 0; index < values.length; index++) bound[valuePlaceholder(index)] = values[index]!
    fields.ExpressionAttributeValues = bound
  }
  return fields
}

const VALUE_PLACEHOLDERS = Array.from({ length: 128 }, (_, index) => `:v${index}`)

/** `:v<index>`, the placeholder of the value at `index` (the common ones made once). */
function valuePlaceholder(index: number): string {
  return index < VALUE_PLACEHOLDERS.length ? VALUE_PLACEHOLDERS[index]! : `:v${index}`
}

const operationNames = new WeakMap<object, Map<string, Map<string, string>>>()

/**
 * `kind:owner.name` (with `:index` when given), made once per owner, kind and index: the same string every call,
 * so the token tree finds it without hashing a new one.
 */
export function operationName(owner: { readonly name: string }, kind: string, index?: string): string {
  let byKind = operationNames.get(owner)
  if (!byKind) {
    byKind = new Map()
    operationNames.set(owner, byKind)
  }
  let byIndex = byKind.get(kind)
  if (!byIndex) {
    byIndex = new Map()
    byKind.set(kind, byIndex)
  }
  const key = index ?? ''
  let name = byIndex.get(key)
  if (name === undefined) {
    name = index === undefined ? `${kind}:${owner.name}` : `${kind}:${owner.name}:${index}`
    byIndex.set(key, name)
  }
  return name
}

/** A node of the token tree: its children by token, and the shape text of the tokens leading to it. */
interface ShapeNode {
  readonly next: Map<string | number | object, ShapeNode>
  shape: string | undefined
}

interface ShapeTree {
  root: ShapeNode
  nodes: number
}

interface ShapeWalk {
  readonly tree: ShapeTree
  node: ShapeNode
}

/** Past this many nodes the token tree starts over (user conditions can make any number of shapes). */
const MAX_SHAPE_NODES = 50_000
const shapeTrees = new WeakMap<ExpressionCache, ShapeTree>()

function shapeTreeOf(cache: ExpressionCache): ShapeTree {
  let tree = shapeTrees.get(cache)
  if (!tree) {
    tree = { root: { next: new Map(), shape: undefined }, nodes: 0 }
    shapeTrees.set(cache, tree)
  }
  return tree
}

function step(walk: ShapeWalk, node: ShapeNode, token: string | number | object): ShapeNode {
  let child = node.next.get(token)
  if (child === undefined) {
    const tree = walk.tree
    if (tree.nodes >= MAX_SHAPE_NODES) {
      // Start over; this walk goes on in a detached node, its text computed from the parts.
      tree.root = { next: new Map(), shape: undefined }
      tree.nodes = 0
    }
    child = { next: new Map(), shape: undefined }
    node.next.set(token, child)
    tree.nodes++
  }
  return child
}

/** Collects `cond`'s values in the order its rendering binds them. */
function collectValues(cond: Cond, values: AttributeValue[]): void {
  switch (cond.type) {
    case 'and':
    case 'or':
      for (const child of cond.children) collectValues(child, values)
      return
    case 'not':
      collectValues(cond.child, values)
      return
    case 'exists':
    case 'notExists':
      return
    default:
      for (const value of cond.values) values.push(value)
  }
}

/** Walks `cond`'s tokens (after `marker`), collecting its values in order. */
function condTokens(walk: ShapeWalk, marker: string, cond: Cond, values: AttributeValue[]): void {
  walk.node = step(walk, walk.node, marker)
  switch (cond.type) {
    case 'and':
    case 'or':
      for (const child of cond.children) condTokens(walk, cond.type, child, values)
      walk.node = step(walk, walk.node, ')')
      return
    case 'not':
      condTokens(walk, 'not', cond.child, values)
      walk.node = step(walk, walk.node, ')')
      return
    case 'exists':
    case 'notExists':
      walk.node = step(walk, step(walk, walk.node, cond.type), attrText(cond.attr))
      return
    default:
      for (const value of cond.values) values.push(value)
      walk.node = step(walk, walk.node, cond.type)
      if (cond.type === 'cmp' || cond.type === 'size') walk.node = step(walk, walk.node, cond.op)
      else if (cond.type === 'fn') walk.node = step(walk, walk.node, cond.fn)
      else if (cond.type === 'in') walk.node = step(walk, walk.node, cond.values.length)
      walk.node = step(walk, walk.node, attrText(cond.attr))
  }
}

/** The shape as text: the expression cache's key. */
function shapeText(operation: string, parts: ExpressionParts): string {
  const values: AttributeValue[] = []
  let shape = operation
  if (parts.keyCondition) shape += `|k:${condShape(parts.keyCondition, values)}`
  if (parts.filter) shape += `|f:${condShape(parts.filter, values)}`
  if (parts.constantFilter) shape += `|e:${condShape(parts.constantFilter, values)}`
  if (parts.condition) shape += `|c:${condShape(parts.condition, values)}`
  if (parts.update) shape += `|u:${updateShape(parts.update, values)}`
  if (parts.projection) shape += `|p:${parts.projection.join(',')}`
  return shape
}

function condShape(cond: Cond, values: AttributeValue[]): string {
  switch (cond.type) {
    case 'and':
    case 'or': {
      let out = `${cond.type}(`
      for (const child of cond.children) out += `${condShape(child, values)},`
      return `${out})`
    }
    case 'not':
      return `not(${condShape(cond.child, values)})`
    case 'exists':
    case 'notExists':
      return `${cond.type}[${attrText(cond.attr)}]`
    default:
      for (const value of cond.values) values.push(value)
      return `${cond.type === 'cmp' || cond.type === 'size' ? cond.op : cond.type === 'fn' ? cond.fn : cond.type}${cond.type === 'size' ? 'z' : ''}[${attrText(cond.attr)}]${cond.values.length}`
  }
}

function updateShape(actions: readonly UpdateAction[], values: AttributeValue[]): string {
  let out = ''
  for (const action of actions) {
    if (action.type !== 'remove') values.push(action.value)
    out += `${action.type}[${action.attr}]`
  }
  return out
}

class Renderer {
  readonly names: Record<string, string> = {}
  private readonly placeholders = new Map<string, string>()
  private nextValue = 0

  /** The expression text naming `attr`: one placeholder per attribute or map entry name, list positions as `[n]`. */
  name(attr: Attr): string {
    if (typeof attr === 'string') return this.placeholder(attr)
    let out = ''
    for (const segment of attr.segments) {
      out += typeof segment === 'number' ? `[${segment}]` : out === '' ? this.placeholder(segment) : `.${this.placeholder(segment)}`
    }
    return out
  }

  private placeholder(attr: string): string {
    let placeholder = this.placeholders.get(attr)
    if (placeholder === undefined) {
      placeholder = `#a${this.placeholders.size}`
      this.placeholders.set(attr, placeholder)
      this.names[placeholder] = attr
    }
    return placeholder
  }

  value(): string {
    return valuePlaceholder(this.nextValue++)
  }

  cond(cond: Cond): string {
    switch (cond.type) {
      case 'and':
      case 'or':
        return cond.children.map((child) => `(${this.cond(child)})`).join(cond.type === 'and' ? ' AND ' : ' OR ')
      case 'not':
        return `NOT (${this.cond(cond.child)})`
      case 'exists':
        return `attribute_exists(${this.name(cond.attr)})`
      case 'notExists':
        return `attribute_not_exists(${this.name(cond.attr)})`
      case 'cmp':
        return `${this.name(cond.attr)} ${cond.op} ${this.value()}`
      case 'size':
        return `size(${this.name(cond.attr)}) ${cond.op} ${this.value()}`
      case 'between':
        return `${this.name(cond.attr)} BETWEEN ${this.value()} AND ${this.value()}`
      case 'in':
        return `${this.name(cond.attr)} IN (${cond.values.map(() => this.value()).join(', ')})`
      case 'fn':
        return `${cond.fn}(${this.name(cond.attr)}, ${this.value()})`
    }
  }

  update(actions: readonly UpdateAction[]): string {
    const groups: Record<'SET' | 'REMOVE' | 'ADD' | 'DELETE', string[]> = { SET: [], REMOVE: [], ADD: [], DELETE: [] }
    for (const action of actions) {
      const name = this.name(action.attr)
      switch (action.type) {
        case 'set':
          groups.SET.push(`${name} = ${this.value()}`)
          break
        case 'setIfNotExists':
          groups.SET.push(`${name} = if_not_exists(${name}, ${this.value()})`)
          break
        case 'append':
          groups.SET.push(`${name} = list_append(if_not_exists(${name}, :empty_list), ${this.value()})`)
          break
        case 'prepend':
          groups.SET.push(`${name} = list_append(${this.value()}, if_not_exists(${name}, :empty_list))`)
          break
        case 'increment':
          groups.SET.push(`${name} = if_not_exists(${name}, :zero) + ${this.value()}`)
          break
        case 'remove':
          groups.REMOVE.push(name)
          break
        case 'add':
          groups.ADD.push(`${name} ${this.value()}`)
          break
        case 'delete':
          groups.DELETE.push(`${name} ${this.value()}`)
          break
      }
    }
    return (Object.keys(groups) as (keyof typeof groups)[])
      .filter((clause) => groups[clause].length > 0)
      .map((clause) => `${clause} ${groups[clause].join(', ')}`)
      .join(' ')
  }
}

function renderFilter(renderer: Renderer, filter: Cond | undefined, constant: Cond | undefined): string | undefined {
  if (filter === undefined) return constant ? renderer.cond(constant) : undefined
  // Rendered in the order the values were collected: the filter's, then the constant's.
  const text = renderer.cond(filter)
  return constant ? `(${text}) AND (${renderer.cond(constant)})` : text
}

function render(parts: ExpressionParts): CompiledExpression {
  const renderer = new Renderer()
  const keyCondition = parts.keyCondition ? renderer.cond(parts.keyCondition) : undefined
  const filter = renderFilter(renderer, parts.filter, parts.constantFilter)
  const condition = parts.condition ? renderer.cond(parts.condition) : undefined
  const update = parts.update ? renderer.update(parts.update) : undefined
  const projection = parts.projection ? parts.projection.map((attr) => renderer.name(attr)).join(', ') : undefined
  return { keyCondition, filter, condition, update, projection, names: renderer.names }
}

/** The constant values some update actions use (`:zero`, `:empty_list`), added when the text mentions them. */
export function addConstants(fields: ExpressionRequestFields): void {
  const text = fields.UpdateExpression
  if (!text) return
  if (text.includes(':zero')) (fields.ExpressionAttributeValues ??= {})[':zero'] = { N: '0' }
  if (text.includes(':empty_list')) (fields.ExpressionAttributeValues ??= {})[':empty_list'] = { L: [] }
}
