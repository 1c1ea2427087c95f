import { defaultInflector, type ReadonlyInflector } from './inflector'
import { type NamingStrategy, resolveStrategy, type StrategyName } from './strategies'

/** Options for {@link tableName}. */
export interface TableNameOptions {
  /** How the entity name is cased. Default: `'snake_case'`. */
  strategy?: StrategyName | NamingStrategy | undefined
  /** Pluralise the last word. Default: `true`. */
  plural?: boolean | undefined
  /** Whose plural rules to use. Default: {@link defaultInflector}. */
  inflector?: ReadonlyInflector | undefined
}

/**
 * The table (or collection) name for an entity: the entity name through `strategy.toColumn`, then
 * the last word pluralised. An entity name that is already plural stays as it is.
 *
 * @throws {NamingError} if the entity name cannot be converted, or `strategy` is unknown.
 * @example
 * tableName('UserCategory')                                // 'user_categories'
 * tableName('UserCategory', { strategy: 'PascalCase' })    // 'UserCategories'
 * tableName('Person', { plural: false })                   // 'person'
 */
export function tableName(entityName: string, options: TableNameOptions = {}): string {
  const { strategy = 'snake_case', plural = true, inflector = defaultInflector } = options
  const name = resolveStrategy(strategy).toColumn(entityName)
  return plural ? inflector.pluralize(name) : name
}
