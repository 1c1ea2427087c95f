import fc from 'fast-check'

// Property tests explore new inputs on every local run. CI pins the seed so a run is reproducible and a
// submission cannot fail on a counterexample that an unrelated change happened to draw; set FC_SEED to
// replay a reported failure, or FC_SEED=random to explore under CI too.
const requested = process.env.FC_SEED ?? (process.env.CI ? '20261123' : 'random')
if (requested !== 'random') fc.configureGlobal({ seed: Number(requested) })
