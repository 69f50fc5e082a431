// A virtio device's interrupt line into KVM's in-kernel I/O APIC. virtio-mmio's line is a level:
// high while InterruptStatus is non-zero, and every new event is reported by set(true). With irqfd +
// resample an assertion holds the input until KVM lowers it at the guest's EOI and signals the
// resample fd; an event that came while it was held gets a new assertion then, if the guest's
// acknowledgement left it standing (a raise while KVM holds the input would otherwise be lost).
// Nothing is asserted again for a resample alone: kvm_pvm signals one before the guest's handler
// has even acknowledged (measured), and asserting again there would deliver every interrupt twice.
// Without irqfd, KVM_IRQ_LINE sets the level directly. Either way the vCPU never leaves the kernel
// for an interrupt.
import * as libc from '../libc';
import { assignIrqfd, setIrqLine } from '../kvm/kernel-irqchip';
import type { InterruptLine } from '../devices/virtio';
import type { EventfdStats } from './io-channel';

export class KernelIrqLine implements InterruptLine {
  /** Interrupts the line started: assertions for new events (KVM_IRQ_LINE: rising edges). */
  raised = 0;
  private level = false;
  /** irqfd mode: KVM holds the input asserted (until the EOI's resample). */
  private heldByKernel = false;
  /** irqfd mode: an event came while KVM held the input. */
  private eventWhileHeld = false;
  readonly irqfd?: { fd: number; resampleFd: number };

  constructor(private readonly vmFd: number, readonly pin: number, readonly source: string, private readonly stats: EventfdStats, useIrqfd: boolean) {
    if (useIrqfd) {
      const fd = libc.eventfd(`irqfd for input ${pin}`);
      const resampleFd = libc.eventfd(`resample fd for input ${pin}`);
      try {
        assignIrqfd(vmFd, fd, pin, resampleFd);
      } catch (e) {
        libc.close(fd);
        libc.close(resampleFd);
        throw e;
      }
      this.irqfd = { fd, resampleFd };
    }
  }

  get asserted(): boolean {
    return this.level;
  }

  set(level: boolean): void {
    const changed = level !== this.level;
    this.level = level;
    if (!this.irqfd) {
      if (!changed) return;
      setIrqLine(this.vmFd, this.pin, level);
      this.stats.irqLineCalls++;
      if (level) this.raised++;
      return;
    }
    if (!level) return; // KVM lowers the input itself, at the EOI
    if (this.heldByKernel) this.eventWhileHeld = true;
    else this.assertThroughIrqfd();
  }

  private assertThroughIrqfd(): void {
    libc.signalEventfd(this.irqfd!.fd);
    this.heldByKernel = true;
    this.eventWhileHeld = false;
    this.raised++;
    this.stats.irqfdInjections++;
  }

  /** KVM lowered the input (the guest's EOI): assert it again for an event it has not acknowledged. */
  resampled(): void {
    libc.drainEventfd(this.irqfd!.resampleFd);
    this.heldByKernel = false;
    if (this.eventWhileHeld && this.level) this.assertThroughIrqfd();
    this.eventWhileHeld = false;
  }
}
