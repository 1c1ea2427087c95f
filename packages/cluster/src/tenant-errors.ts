import { TesseraError } from '@tessera/core'

/** A tenant id that breaks the identifier rules (empty, too long, a character outside the accepted set). */
export class InvalidTenantIdError extends TesseraError {
  /** The id as given. */
  readonly tenantId: unknown
  constructor(tenantId: unknown, reason: string) {
    super(`invalid tenant id ${describe(tenantId)}: ${reason}`, { code: 'TENANT_ID_INVALID' })
    this.tenantId = tenantId
  }
}

/** A well-formed tenant id that the allowlist or the resolver does not know. */
export class UnknownTenantError extends TesseraError {
  readonly tenantId: string
  constructor(tenantId: string, options: { cause?: unknown } = {}) {
    super(`unknown tenant ${describe(tenantId)}: it is not in the tenancy's allowlist and its resolver did not accept it`, {
      code: 'TENANT_UNKNOWN',
      cause: options.cause,
    })
    this.tenantId = tenantId
  }
}

/** A tenant's bulkhead is full: its queue is at `maxQueue`, or the wait for a slot passed `queueTimeoutMs`. Retryable. */
export class TenantBusyError extends TesseraError {
  readonly tenantId: string
  /** Operations of this tenant running when the call gave up. */
  readonly running: number
  /** Operations of this tenant waiting when the call gave up. */
  readonly queued: number
  /** How long the call waited, ms (0 when the queue was full). */
  readonly waitedMs: number
  constructor(details: { tenantId: string; running: number; queued: number; waitedMs: number; reason: 'queue full' | 'timeout' }) {
    const why = details.reason === 'queue full' ? 'its queue is full' : `no slot became free within ${details.waitedMs} ms`
    super(`tenant ${describe(details.tenantId)} is busy: ${why} (${details.running} running, ${details.queued} queued)`, {
      code: 'TENANT_BUSY',
      retryable: true,
    })
    this.tenantId = details.tenantId
    this.running = details.running
    this.queued = details.queued
    this.waitedMs = details.waitedMs
  }
}

/** The tenancy (or the tenant database it needed) was closed before or while the call ran. */
export class TenancyClosedError extends TesseraError {
  constructor(operation: string) {
    super(`${operation} refused: the tenancy is closed`, { code: 'TENANCY_CLOSED' })
  }
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value
  const shown = value.length > 40 ? `${value.slice(0, 40)}… (${value.length} characters)` : value
  return JSON.stringify(shown)
}
