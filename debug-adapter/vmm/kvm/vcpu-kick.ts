// Getting a vCPU thread out of KVM_RUN from another thread (the main thread's stop requests, the
// device thread's halt checks): kvm_run.immediate_exit makes a KVM_RUN about to start return at
// once, and a signal to the thread makes one already inside return with EINTR. A handler must
// exist for the signal (an ignored one would not interrupt KVM_RUN): kvm-vm.ts installs it.
import os from 'node:os';
import { OFFSET } from './kvm-abi';
import * as libc from '../libc';

export const KICK_SIGNAL = 'SIGUSR2';

/** `run`: the vCPU's kvm_run mapping (viewed from this thread); `tid`: its thread. */
export function kickVcpu(run: Uint8Array, tid: number): void {
  run[OFFSET['kvm_run.immediate_exit']] = 1;
  libc.tgkill(process.pid, tid, os.constants.signals[KICK_SIGNAL]);
}
