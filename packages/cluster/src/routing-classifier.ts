import { classifyStatement } from '@tessera/core'

const MAX_REMEMBERED = 2_000
const remembered = new Map<string, boolean>()

/**
 * Whether a statement may run on a replica: core's classifier proves it read-only and it calls no function the
 * classifier does not know (a user-defined function may write). Answers are remembered per text (up to 2000 texts;
 * the oldest is forgotten first), since an application sends the same texts over and over.
 */
export function isRoutableRead(text: string): boolean {
  const known = remembered.get(text)
  if (known !== undefined) return known
  const classification = classifyStatement(text)
  const isRead = classification.readOnly && classification.unknownFunctions.length === 0
  if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string)
  remembered.set(text, isRead)
  return isRead
}
