// How a guest run ends, as an exit status: shared by `kvm-guest run` and the debug session's
// ExitedEvent, so both report the same numbers.
export const EXIT_STATUS = {
  halted: 0,
  error: 1,
  'build-error': 2,
  shutdown: 3,
  timeout: 4,
  'internal-error': 5,
  'entry-failure': 5,
  interrupted: 130,
} as const;

export type Outcome = keyof typeof EXIT_STATUS;
