// A virtio device's interrupt line into KVM's in-kernel I/O APIC. virtio-mmio's line is a level:
// high while InterruptStatus is non-zero. With irqfd + resample the input stays asserted until KVM
// lowers it at the guest's EOI and signals the resample fd; the line is asserted again if the device
// raised a new interrupt since the guest acknowledged the last one (a raise while KVM still holds
// the input asserted would otherwise be lost). A resample while the device's level never dropped is
// not answered: kvm_pvm signals one before the guest's handler has even acknowledged (measured),
// and asserting again there would deliver every interrupt twice. Without irqfd, KVM_IRQ_LINE sets
// the level directly. Either way the vCPU never leaves the kernel for an interrupt.
import * as libc from '../libc';
import { assignIrqfd, setIrqLine } from '../kvm/kernel-irqchip';
import type { InterruptLine } from '../devices/virtio';
import type { EventfdStats } from './io-channel';

export class KernelIrqLine implements InterruptLine {
  /** Rising edges of the device's level. */
  raised = 0;
  private level = false;
  /** irqfd mode: KVM holds the input asserted (until the EOI's resample). */
  private heldByKernel = false;
  /** irqfd mode: the device's level dropped (the guest acknowledged) since the last assertion. */
  private droppedSinceAssert = false;
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
    if (level && changed) this.raised++;
    if (!level) this.droppedSinceAssert = true;
    this.level = level;
    if (this.irqfd) {
      if (level && !this.heldByKernel) this.assertThroughIrqfd();
    } else if (changed) {
      setIrqLine(this.vmFd, this.pin, level);
      this.stats.irqLineCalls++;
    }
  }

  private assertThroughIrqfd(): void {
    libc.signalEventfd(this.irqfd!.fd);
    this.heldByKernel = true;
    this.droppedSinceAssert = false;
    this.stats.irqfdInjections++;
  }

  /** KVM lowered the input (the guest's EOI): assert it again for an interrupt raised since the acknowledgement. */
  resampled(): void {
    libc.drainEventfd(this.irqfd!.resampleFd);
    this.heldByKernel = false;
    if (this.level && this.droppedSinceAssert) this.assertThroughIrqfd();
  }

  close(): void {
    if (!this.irqfd) return;
    libc.close(this.irqfd.fd);
    libc.close(this.irqfd.resampleFd);
  }
}
