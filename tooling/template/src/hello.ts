/** Replace me. */
export function hello(): string {
  return '__NAME__'
}
