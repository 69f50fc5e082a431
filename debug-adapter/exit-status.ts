// How a guest run ends, as an exit status: shared by `kvm-guest run` and the debug session's
// ExitedEvent, so both report the same numbers.
import { guestExitStatus } from './vmm/devices/isa-debug-exit';
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

/** `exited`: the guest ended through isa-debug-exit; its status is (value << 1) | 1 as QEMU's (guestExitStatus). */
export type Outcome = keyof typeof EXIT_STATUS | 'exited';

/** The exit status of an outcome; for `exited`, QEMU's (value << 1) | 1 of the guest's value. */
export function exitStatusOf(outcome: Outcome, guestExitCode?: number): number {
  return outcome === 'exited' ? guestExitStatus(guestExitCode ?? 0) : EXIT_STATUS[outcome];
}
