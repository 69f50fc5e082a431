// The KVM ABI for x86-64 hosts, in one place: ioctl numbers, struct sizes and field offsets.
// Values are those of <linux/kvm.h>; test/kvm/abi-layout.test.ts compiles a C program against the
// real header and compares every entry below, so a drift can never go unnoticed.

const KVMIO = 0xae;
const IOC_WRITE = 1;
const IOC_READ = 2;
const io = (nr: number): number => (KVMIO << 8) | nr;
const ioc = (dir: number, nr: number, size: number): number =>
  ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;

/** Struct sizes in bytes. */
export const SIZE = {
  kvm_userspace_memory_region: 32,
  kvm_regs: 144,
  kvm_segment: 24,
  kvm_dtable: 16,
  kvm_sregs: 312,
  kvm_guest_debug: 72,
  kvm_translation: 24,
  kvm_interrupt: 4,
  kvm_cpuid2: 8,
  kvm_cpuid_entry2: 40,
  kvm_irq_level: 8,
  kvm_irq_routing: 8,
  kvm_irq_routing_entry: 48,
  kvm_irqfd: 32,
  kvm_ioeventfd: 64,
  kvm_pit_config: 64,
  kvm_irqchip: 520,
  kvm_lapic_state: 1024,
  kvm_mp_state: 4,
  kvm_stats_header: 24,
  kvm_stats_desc: 16,
} as const;

export const IOCTL = {
  KVM_GET_API_VERSION: io(0x00),
  KVM_CREATE_VM: io(0x01),
  KVM_CHECK_EXTENSION: io(0x03),
  KVM_GET_VCPU_MMAP_SIZE: io(0x04),
  KVM_GET_SUPPORTED_CPUID: ioc(IOC_READ | IOC_WRITE, 0x05, SIZE.kvm_cpuid2),
  KVM_CREATE_VCPU: io(0x41),
  KVM_SET_USER_MEMORY_REGION: ioc(IOC_WRITE, 0x46, SIZE.kvm_userspace_memory_region),
  KVM_SET_TSS_ADDR: io(0x47),
  KVM_SET_IDENTITY_MAP_ADDR: ioc(IOC_WRITE, 0x48, 8),
  KVM_RUN: io(0x80),
  KVM_GET_REGS: ioc(IOC_READ, 0x81, SIZE.kvm_regs),
  KVM_SET_REGS: ioc(IOC_WRITE, 0x82, SIZE.kvm_regs),
  KVM_GET_SREGS: ioc(IOC_READ, 0x83, SIZE.kvm_sregs),
  KVM_SET_SREGS: ioc(IOC_WRITE, 0x84, SIZE.kvm_sregs),
  KVM_TRANSLATE: ioc(IOC_READ | IOC_WRITE, 0x85, SIZE.kvm_translation),
  KVM_INTERRUPT: ioc(IOC_WRITE, 0x86, SIZE.kvm_interrupt),
  KVM_SET_GUEST_DEBUG: ioc(IOC_WRITE, 0x9b, SIZE.kvm_guest_debug),
  KVM_SET_CPUID2: ioc(IOC_WRITE, 0x90, SIZE.kvm_cpuid2),
  KVM_CREATE_IRQCHIP: io(0x60),
  KVM_IRQ_LINE: ioc(IOC_WRITE, 0x61, SIZE.kvm_irq_level),
  KVM_GET_IRQCHIP: ioc(IOC_READ | IOC_WRITE, 0x62, SIZE.kvm_irqchip),
  KVM_SET_IRQCHIP: ioc(IOC_READ, 0x63, SIZE.kvm_irqchip),
  KVM_SET_GSI_ROUTING: ioc(IOC_WRITE, 0x6a, SIZE.kvm_irq_routing),
  KVM_IRQFD: ioc(IOC_WRITE, 0x76, SIZE.kvm_irqfd),
  KVM_CREATE_PIT2: ioc(IOC_WRITE, 0x77, SIZE.kvm_pit_config),
  KVM_IOEVENTFD: ioc(IOC_WRITE, 0x79, SIZE.kvm_ioeventfd),
  KVM_GET_LAPIC: ioc(IOC_READ, 0x8e, SIZE.kvm_lapic_state),
  KVM_GET_MP_STATE: ioc(IOC_READ, 0x98, SIZE.kvm_mp_state),
  KVM_SET_MP_STATE: ioc(IOC_WRITE, 0x99, SIZE.kvm_mp_state),
  KVM_GET_STATS_FD: io(0xce),
} as const;

export const KVM_API_VERSION = 12;

/** Capabilities we query (KVM_CHECK_EXTENSION). */
export const CAP = {
  KVM_CAP_IRQCHIP: 0,
  KVM_CAP_HLT: 1,
  KVM_CAP_USER_MEMORY: 3,
  KVM_CAP_SET_TSS_ADDR: 4,
  KVM_CAP_EXT_CPUID: 7,
  KVM_CAP_NR_VCPUS: 9,
  KVM_CAP_NR_MEMSLOTS: 10,
  KVM_CAP_COALESCED_MMIO: 15,
  KVM_CAP_SET_GUEST_DEBUG: 23,
  KVM_CAP_IOEVENTFD: 36,
  KVM_CAP_SET_IDENTITY_MAP_ADDR: 37,
  KVM_CAP_READONLY_MEM: 81,
  KVM_CAP_IMMEDIATE_EXIT: 136,
  KVM_CAP_GUEST_DEBUG_HW_BPS: 119,
  KVM_CAP_X86_ROBUST_SINGLESTEP: 51,
  KVM_CAP_SYNC_REGS: 74,
  KVM_CAP_IRQFD: 32,
  KVM_CAP_PIT2: 33,
  KVM_CAP_IRQFD_RESAMPLE: 82,
  KVM_CAP_BINARY_STATS_FD: 203,
} as const;

/** The in-kernel interrupt controllers: chip ids, eventfd flags, vCPU run states. */
export const IRQ = {
  KVM_IRQCHIP_PIC_MASTER: 0,
  KVM_IRQCHIP_PIC_SLAVE: 1,
  KVM_IRQCHIP_IOAPIC: 2,
  KVM_IRQFD_FLAG_DEASSIGN: 1,
  KVM_IRQFD_FLAG_RESAMPLE: 2,
  KVM_IOEVENTFD_FLAG_DATAMATCH: 1,
  KVM_IRQ_ROUTING_IRQCHIP: 1,
  KVM_MP_STATE_RUNNABLE: 0,
  KVM_MP_STATE_HALTED: 3,
} as const;

export const MEM_FLAG = { KVM_MEM_LOG_DIRTY_PAGES: 1, KVM_MEM_READONLY: 2 } as const;

export const GUESTDBG = {
  KVM_GUESTDBG_ENABLE: 0x00000001,
  KVM_GUESTDBG_SINGLESTEP: 0x00000002,
  KVM_GUESTDBG_USE_SW_BP: 0x00010000,
  KVM_GUESTDBG_USE_HW_BP: 0x00020000,
  KVM_GUESTDBG_INJECT_DB: 0x00040000,
  KVM_GUESTDBG_INJECT_BP: 0x00080000,
} as const;

export const EXIT = {
  KVM_EXIT_UNKNOWN: 0,
  KVM_EXIT_EXCEPTION: 1,
  KVM_EXIT_IO: 2,
  KVM_EXIT_HYPERCALL: 3,
  KVM_EXIT_DEBUG: 4,
  KVM_EXIT_HLT: 5,
  KVM_EXIT_MMIO: 6,
  KVM_EXIT_IRQ_WINDOW_OPEN: 7,
  KVM_EXIT_SHUTDOWN: 8,
  KVM_EXIT_FAIL_ENTRY: 9,
  KVM_EXIT_INTR: 10,
  KVM_EXIT_SET_TPR: 11,
  KVM_EXIT_TPR_ACCESS: 12,
  KVM_EXIT_NMI: 16,
  KVM_EXIT_INTERNAL_ERROR: 17,
  KVM_EXIT_SYSTEM_EVENT: 24,
  KVM_EXIT_IOAPIC_EOI: 26,
  KVM_EXIT_HYPERV: 27,
  KVM_EXIT_X86_RDMSR: 29,
  KVM_EXIT_X86_WRMSR: 30,
  KVM_EXIT_DIRTY_RING_FULL: 31,
  KVM_EXIT_AP_RESET_HOLD: 32,
  KVM_EXIT_X86_BUS_LOCK: 33,
  KVM_EXIT_NOTIFY: 37,
} as const;

export const EXIT_IO = { KVM_EXIT_IO_IN: 0, KVM_EXIT_IO_OUT: 1 } as const;

export const INTERNAL_ERROR = {
  KVM_INTERNAL_ERROR_EMULATION: 1,
  KVM_INTERNAL_ERROR_SIMUL_EX: 2,
  KVM_INTERNAL_ERROR_DELIVERY_EV: 3,
  KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: 4,
  KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES: 1,
} as const;

/** Field offsets, keyed "struct.field" (nested fields with dots, as written in C). */
export const OFFSET = {
  'kvm_cpuid2.nent': 0,
  'kvm_cpuid2.entries': 8,
  'kvm_cpuid_entry2.function': 0,
  'kvm_cpuid_entry2.ecx': 20,
  'kvm_userspace_memory_region.slot': 0,
  'kvm_userspace_memory_region.flags': 4,
  'kvm_userspace_memory_region.guest_phys_addr': 8,
  'kvm_userspace_memory_region.memory_size': 16,
  'kvm_userspace_memory_region.userspace_addr': 24,

  'kvm_segment.base': 0,
  'kvm_segment.limit': 8,
  'kvm_segment.selector': 12,
  'kvm_segment.type': 14,
  'kvm_segment.present': 15,
  'kvm_segment.dpl': 16,
  'kvm_segment.db': 17,
  'kvm_segment.s': 18,
  'kvm_segment.l': 19,
  'kvm_segment.g': 20,
  'kvm_segment.avl': 21,
  'kvm_segment.unusable': 22,

  'kvm_dtable.base': 0,
  'kvm_dtable.limit': 8,

  'kvm_sregs.cs': 0,
  'kvm_sregs.ds': 24,
  'kvm_sregs.es': 48,
  'kvm_sregs.fs': 72,
  'kvm_sregs.gs': 96,
  'kvm_sregs.ss': 120,
  'kvm_sregs.tr': 144,
  'kvm_sregs.ldt': 168,
  'kvm_sregs.gdt': 192,
  'kvm_sregs.idt': 208,
  'kvm_sregs.cr0': 224,
  'kvm_sregs.cr2': 232,
  'kvm_sregs.cr3': 240,
  'kvm_sregs.cr4': 248,
  'kvm_sregs.cr8': 256,
  'kvm_sregs.efer': 264,
  'kvm_sregs.apic_base': 272,
  'kvm_sregs.interrupt_bitmap': 280,

  'kvm_regs.rax': 0,
  'kvm_regs.rip': 128,
  'kvm_regs.rflags': 136,

  'kvm_guest_debug.control': 0,
  'kvm_guest_debug.arch.debugreg': 8,

  'kvm_translation.linear_address': 0,
  'kvm_translation.physical_address': 8,
  'kvm_translation.valid': 16,

  'kvm_irq_level.irq': 0,
  'kvm_irq_level.level': 4,
  'kvm_irqfd.fd': 0,
  'kvm_irqfd.gsi': 4,
  'kvm_irqfd.flags': 8,
  'kvm_irqfd.resamplefd': 12,
  'kvm_ioeventfd.datamatch': 0,
  'kvm_ioeventfd.addr': 8,
  'kvm_ioeventfd.len': 16,
  'kvm_ioeventfd.fd': 20,
  'kvm_ioeventfd.flags': 24,
  'kvm_irqchip.chip_id': 0,
  'kvm_irqchip.chip': 8,
  'kvm_pic_state.imr': 2,
  'kvm_irq_routing.nr': 0,
  'kvm_irq_routing.entries': 8,
  'kvm_irq_routing_entry.gsi': 0,
  'kvm_irq_routing_entry.type': 4,
  'kvm_irq_routing_entry.u.irqchip.irqchip': 16,
  'kvm_irq_routing_entry.u.irqchip.pin': 20,
  'kvm_ioapic_state.base_address': 0,
  'kvm_ioapic_state.irr': 16,
  'kvm_ioapic_state.redirtbl': 24,
  'kvm_stats_header.name_size': 4,
  'kvm_stats_header.num_desc': 8,
  'kvm_stats_header.desc_offset': 16,
  'kvm_stats_header.data_offset': 20,
  'kvm_stats_desc.offset': 8,
  'kvm_stats_desc.name': 16,

  'kvm_run.request_interrupt_window': 0,
  'kvm_run.immediate_exit': 1,
  'kvm_run.exit_reason': 8,
  'kvm_run.ready_for_interrupt_injection': 12,
  'kvm_run.if_flag': 13,
  'kvm_run.flags': 14,
  'kvm_run.cr8': 16,
  'kvm_run.apic_base': 24,
  'kvm_run.hw.hardware_exit_reason': 32,
  'kvm_run.fail_entry.hardware_entry_failure_reason': 32,
  'kvm_run.fail_entry.cpu': 40,
  'kvm_run.ex.exception': 32,
  'kvm_run.ex.error_code': 36,
  'kvm_run.io.direction': 32,
  'kvm_run.io.size': 33,
  'kvm_run.io.port': 34,
  'kvm_run.io.count': 36,
  'kvm_run.io.data_offset': 40,
  'kvm_run.debug.arch.exception': 32,
  'kvm_run.debug.arch.pc': 40,
  'kvm_run.debug.arch.dr6': 48,
  'kvm_run.debug.arch.dr7': 56,
  'kvm_run.mmio.phys_addr': 32,
  'kvm_run.mmio.data': 40,
  'kvm_run.mmio.len': 48,
  'kvm_run.mmio.is_write': 52,
  'kvm_run.internal.suberror': 32,
  'kvm_run.internal.ndata': 36,
  'kvm_run.internal.data': 40,
  'kvm_run.emulation_failure.flags': 40,
  'kvm_run.emulation_failure.insn_size': 48,
  'kvm_run.emulation_failure.insn_bytes': 49,
  'kvm_run.system_event.type': 32,
  'kvm_run.kvm_valid_regs': 288,
  'kvm_run.kvm_dirty_regs': 296,
  'kvm_run.s.regs.regs': 304,
  'kvm_run.s.regs.sregs': 448,
} as const;

/** kvm_valid_regs bits: which register classes KVM copies into kvm_run.s on every exit. */
export const SYNC = { KVM_SYNC_X86_REGS: 1, KVM_SYNC_X86_SREGS: 2 } as const;

/** General-purpose registers in kvm_regs order (each a __u64). */
export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
] as const;
export type RegName = (typeof REG_NAMES)[number];

export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];
