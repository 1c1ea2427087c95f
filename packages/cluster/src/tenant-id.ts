import { InvalidTenantIdError } from './tenant-errors'

/** The default rule for tenant ids: a letter, digit or `_` first, then letters, digits, `_` and `-`. */
export const DEFAULT_TENANT_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/

/** The default maximum length of a tenant id: 63, PostgreSQL's identifier limit in bytes. */
export const DEFAULT_TENANT_ID_MAX_LENGTH = 63

/** How tenant ids are checked before any SQL runs. */
export interface TenantIdRules {
  /** Every id must match it. Default: {@link DEFAULT_TENANT_ID_PATTERN}. */
  pattern?: RegExp | undefined
  /** Longest id accepted, in UTF-8 bytes. Default: `63`. */
  maxLength?: number | undefined
}

/**
 * Checks a tenant id against the rules and returns it, or throws {@link InvalidTenantIdError} naming the id and
 * what is accepted. Runs before any I/O.
 */
export function validateTenantId(tenantId: unknown, rules: TenantIdRules = {}): string {
  const pattern = rules.pattern ?? DEFAULT_TENANT_ID_PATTERN
  const maxLength = rules.maxLength ?? DEFAULT_TENANT_ID_MAX_LENGTH
  if (typeof tenantId !== 'string') throw new InvalidTenantIdError(tenantId, 'a tenant id is a string')
  if (tenantId.length === 0) throw new InvalidTenantIdError(tenantId, 'it is empty')
  const bytes = Buffer.byteLength(tenantId, 'utf8')
  if (bytes > maxLength) throw new InvalidTenantIdError(tenantId, `it is ${bytes} bytes long; at most ${maxLength} are accepted`)
  // A global or sticky pattern keeps state between calls: test a fresh copy.
  const check = pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern
  if (!check.test(tenantId)) throw new InvalidTenantIdError(tenantId, `it does not match ${String(pattern)}`)
  return tenantId
}
