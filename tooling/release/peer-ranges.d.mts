/** `>=A.B.C` → `>=A.B.C <(A+1).0.0`; any other range unchanged. */
export function boundRange(range: string): string
/** Why `range` is not a good internal peer range for a workspace package at `version`, or undefined when it is. */
export function peerRangeProblem(range: string, version: string): string | undefined
/** Every package manifest under `root/packages`. */
export function readManifests(root: string): { dir: string; manifest: { name: string; version: string; [key: string]: unknown } }[]
/** Bounds every unbounded internal peer range under `root/packages`; returns the changes made. */
export function boundPeerRanges(root: string): string[]
