// KVM's own interrupt controllers (KVM_CREATE_IRQCHIP: PIC, I/O APIC at 0xFEC00000, a local APIC per
// vCPU; KVM_CREATE_PIT2: the 8254 on ports 0x40–0x43) and the two eventfd doors into them: irqfd
// (signal an eventfd → KVM raises an I/O APIC input) and ioeventfd (a guest store to an address →
// KVM signals an eventfd, without the vCPU leaving the kernel). Used instead of the monitor's LAPIC,
// I/O APIC and PIT when the machine runs with `irqchip: kernel`; the views read the same state back.
import { IOCTL, IRQ, OFFSET, SIZE } from './kvm-abi';
import * as libc from '../libc';
import { decodeRedirection, IOAPIC_PINS, RedirectionInfo, redirectionProgrammed } from '../devices/ioapic';
import { LocalApicInfo, LVT_MASKED, REG as LAPIC_REG, SVR_ENABLE, TIMER_PERIODIC, timerDivisor } from '../devices/local-apic';

/**
 * Creates the in-kernel PIC, I/O APIC and local APICs, and the PIT. Before any vCPU exists. The
 * machine has no 8259 (the monitor's controllers have none, and start_info lists none), but KVM's
 * irqchip brings two, wired to LINT0 as ExtINT: they are masked, as firmware leaves them for an
 * APIC-based OS, so that the PIT reaches the guest through I/O APIC input 2 only — unmasked, its
 * IRQ 0 would arrive as vector 0x08 through an uninitialised PIC.
 */
export function createKernelIrqchip(vmFd: number): void {
  libc.ioctlInt(vmFd, IOCTL.KVM_CREATE_IRQCHIP, 0, 'KVM_CREATE_IRQCHIP');
  // flags 0: KVM also serves port 0x61 (the PIT's gate and speaker bits).
  libc.ioctlPtr(vmFd, IOCTL.KVM_CREATE_PIT2, Buffer.alloc(SIZE.kvm_pit_config), 'KVM_CREATE_PIT2');
  routeAsOnPc(vmFd);
  for (const chip of [IRQ.KVM_IRQCHIP_PIC_MASTER, IRQ.KVM_IRQCHIP_PIC_SLAVE]) {
    const b = Buffer.alloc(SIZE.kvm_irqchip);
    b.writeUInt32LE(chip, OFFSET['kvm_irqchip.chip_id']);
    libc.ioctlPtr(vmFd, IOCTL.KVM_GET_IRQCHIP, b, 'KVM_GET_IRQCHIP (PIC)');
    b[OFFSET['kvm_irqchip.chip'] + OFFSET['kvm_pic_state.imr']] = 0xff;
    libc.ioctlPtr(vmFd, IOCTL.KVM_SET_IRQCHIP, b, 'KVM_SET_IRQCHIP (PIC)');
  }
}

/**
 * GSI → interrupt controller pins as on a PC (and as QEMU sets them): ISA IRQs 0–15 go to the PICs
 * and to the I/O APIC input of the same number, except IRQ 0 (the PIT), which reaches I/O APIC
 * input 2 (the ACPI interrupt source override every PC firmware declares; KVM's default routing
 * would put it on input 0); IRQ 2 is the PICs' cascade. GSIs 16–23 are I/O APIC inputs only (the
 * virtio devices). The monitor's own I/O APIC is wired the same way (interrupt-platform.ts).
 */
function routeAsOnPc(vmFd: number): void {
  const routes: [gsi: number, chip: number, pin: number][] = [];
  for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
    if (gsi < 16 && gsi !== 2) routes.push([gsi, gsi < 8 ? IRQ.KVM_IRQCHIP_PIC_MASTER : IRQ.KVM_IRQCHIP_PIC_SLAVE, gsi % 8]);
    if (gsi !== 2) routes.push([gsi, IRQ.KVM_IRQCHIP_IOAPIC, gsi === 0 ? 2 : gsi]);
  }
  const b = Buffer.alloc(SIZE.kvm_irq_routing + routes.length * SIZE.kvm_irq_routing_entry);
  b.writeUInt32LE(routes.length, OFFSET['kvm_irq_routing.nr']);
  routes.forEach(([gsi, chip, pin], i) => {
    const at = OFFSET['kvm_irq_routing.entries'] + i * SIZE.kvm_irq_routing_entry;
    b.writeUInt32LE(gsi, at + OFFSET['kvm_irq_routing_entry.gsi']);
    b.writeUInt32LE(IRQ.KVM_IRQ_ROUTING_IRQCHIP, at + OFFSET['kvm_irq_routing_entry.type']);
    b.writeUInt32LE(chip, at + OFFSET['kvm_irq_routing_entry.u.irqchip.irqchip']);
    b.writeUInt32LE(pin, at + OFFSET['kvm_irq_routing_entry.u.irqchip.pin']);
  });
  libc.ioctlPtr(vmFd, IOCTL.KVM_SET_GSI_ROUTING, b, 'KVM_SET_GSI_ROUTING');
}

/** Drives an I/O APIC input (GSI) to `level` with KVM_IRQ_LINE (the fallback without irqfd). */
export function setIrqLine(vmFd: number, gsi: number, level: boolean): void {
  const b = Buffer.alloc(SIZE.kvm_irq_level);
  b.writeUInt32LE(gsi, OFFSET['kvm_irq_level.irq']);
  b.writeUInt32LE(level ? 1 : 0, OFFSET['kvm_irq_level.level']);
  libc.ioctlPtr(vmFd, IOCTL.KVM_IRQ_LINE, b, 'KVM_IRQ_LINE');
}

/**
 * Wires `fd` to input `gsi`: a signal asserts the input. With `resampleFd` the input stays asserted
 * (level) until the guest's EOI, when KVM lowers it and signals `resampleFd` so the device can
 * assert it again if it still has an interrupt to report.
 */
export function assignIrqfd(vmFd: number, fd: number, gsi: number, resampleFd?: number): void {
  const b = Buffer.alloc(SIZE.kvm_irqfd);
  b.writeUInt32LE(fd, OFFSET['kvm_irqfd.fd']);
  b.writeUInt32LE(gsi, OFFSET['kvm_irqfd.gsi']);
  if (resampleFd !== undefined) {
    b.writeUInt32LE(IRQ.KVM_IRQFD_FLAG_RESAMPLE, OFFSET['kvm_irqfd.flags']);
    b.writeUInt32LE(resampleFd, OFFSET['kvm_irqfd.resamplefd']);
  }
  libc.ioctlPtr(vmFd, IOCTL.KVM_IRQFD, b, 'KVM_IRQFD');
}

/** A guest store of `len` bytes equal to `value` at guest-physical `address` signals `fd` instead of exiting. */
export function assignIoeventfd(vmFd: number, fd: number, address: number, len: number, value: number): void {
  const b = Buffer.alloc(SIZE.kvm_ioeventfd);
  b.writeBigUInt64LE(BigInt(value), OFFSET['kvm_ioeventfd.datamatch']);
  b.writeBigUInt64LE(BigInt(address), OFFSET['kvm_ioeventfd.addr']);
  b.writeUInt32LE(len, OFFSET['kvm_ioeventfd.len']);
  b.writeInt32LE(fd, OFFSET['kvm_ioeventfd.fd']);
  b.writeUInt32LE(IRQ.KVM_IOEVENTFD_FLAG_DATAMATCH, OFFSET['kvm_ioeventfd.flags']);
  libc.ioctlPtr(vmFd, IOCTL.KVM_IOEVENTFD, b, 'KVM_IOEVENTFD');
}

/**
 * The in-kernel I/O APIC's redirection entries in the views' shape: those the guest programmed and
 * those `keep` asks for (the inputs a device drives). Counts and sources are the caller's to fill.
 */
export function readKernelIoapic(vmFd: number, keep: (pin: number) => boolean): RedirectionInfo[] {
  const b = Buffer.alloc(SIZE.kvm_irqchip);
  b.writeUInt32LE(IRQ.KVM_IRQCHIP_IOAPIC, OFFSET['kvm_irqchip.chip_id']);
  libc.ioctlPtr(vmFd, IOCTL.KVM_GET_IRQCHIP, b, 'KVM_GET_IRQCHIP');
  const chip = OFFSET['kvm_irqchip.chip'];
  const irr = b.readUInt32LE(chip + OFFSET['kvm_ioapic_state.irr']);
  const out: RedirectionInfo[] = [];
  for (let pin = 0; pin < IOAPIC_PINS; pin++) {
    const at = chip + OFFSET['kvm_ioapic_state.redirtbl'] + pin * 8;
    const low = b.readUInt32LE(at);
    if (!keep(pin) && !redirectionProgrammed(low)) continue;
    out.push({ ...decodeRedirection(pin, low, b.readUInt32LE(at + 4)), asserted: (irr & (1 << pin)) !== 0, raised: 0 });
  }
  return out;
}

/** The 256 bits of an APIC vector register group (IRR, ISR) as the vectors set. */
function vectorsAt(regs: Buffer, offset: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const w = regs.readUInt32LE(offset + i * 0x10);
    for (let bit = 0; bit < 32; bit++) if (w & (1 << bit)) out.push(i * 32 + bit);
  }
  return out;
}

/** The vCPU's in-kernel local APIC (KVM_GET_LAPIC: the 1 KiB register page), in the views' shape. */
export function readKernelLapic(vcpuFd: number): LocalApicInfo {
  const r = Buffer.alloc(SIZE.kvm_lapic_state);
  libc.ioctlPtr(vcpuFd, IOCTL.KVM_GET_LAPIC, r, 'KVM_GET_LAPIC');
  const reg = (offset: number): number => r.readUInt32LE(offset);
  const lvt = reg(LAPIC_REG.LVT_TIMER);
  return {
    enabled: (reg(LAPIC_REG.SVR) & SVR_ENABLE) !== 0,
    id: reg(LAPIC_REG.ID) >>> 24,
    tpr: reg(LAPIC_REG.TPR) & 0xff,
    ppr: reg(LAPIC_REG.PPR) & 0xff,
    irr: vectorsAt(r, LAPIC_REG.IRR),
    isr: vectorsAt(r, LAPIC_REG.ISR),
    timer: {
      mode: lvt & TIMER_PERIODIC ? 'periodic' : 'one-shot',
      masked: (lvt & LVT_MASKED) !== 0,
      vector: lvt & 0xff,
      initial: reg(LAPIC_REG.TIMER_INITIAL),
      current: reg(LAPIC_REG.TIMER_CURRENT),
      divide: timerDivisor(reg(LAPIC_REG.TIMER_DIVIDE)),
    },
  };
}

/** KVM_MP_STATE_HALTED: the vCPU executed HLT and waits in the kernel for an interrupt. */
export function isHalted(vcpuFd: number): boolean {
  const b = Buffer.alloc(SIZE.kvm_mp_state);
  libc.ioctlPtr(vcpuFd, IOCTL.KVM_GET_MP_STATE, b, 'KVM_GET_MP_STATE');
  return b.readUInt32LE(0) === IRQ.KVM_MP_STATE_HALTED;
}

/** Makes a halted vCPU runnable: the next KVM_RUN goes on after the HLT (as after a KVM_EXIT_HLT). */
export function wakeFromHalt(vcpuFd: number): void {
  const b = Buffer.alloc(SIZE.kvm_mp_state);
  b.writeUInt32LE(IRQ.KVM_MP_STATE_RUNNABLE, 0);
  libc.ioctlPtr(vcpuFd, IOCTL.KVM_SET_MP_STATE, b, 'KVM_SET_MP_STATE');
}
