// The launch configuration's JSON schema: one entry per attribute of LaunchArguments, with its
// description and default. The extension puts it into package.json's debugger contribution.
import type { LaunchArguments } from './session';

type Schema = { type: string | string[]; description: string; default?: unknown; enum?: string[]; items?: unknown; pattern?: string };

export const LAUNCH_SCHEMA: Record<keyof Omit<LaunchArguments, '__restart' | 'noDebug'>, Schema> = {
  program: { type: 'string', description: 'The guest: a source file (.S, .s, .c; built first), an ELF or a flat binary.', default: '${file}' },
  mode: {
    type: 'string', enum: ['real', 'protected', 'paged32', 'long'],
    description: 'CPU mode at the first instruction. Default: from the file (ELF class, .code16/.code32/.code64, a "kvm-guest: mode=…" comment).',
  },
  memory: { type: 'string', description: 'Guest memory size: bytes or K/M/G, from 1M to 3G.', default: '2M' },
  loadAddress: { type: 'string', description: 'Where a flat or real-mode image is loaded (guest-physical). Real mode default 0xF0000 (the reset-vector segment); flat images 0x100000.', pattern: '^(0x[0-9a-fA-F]+|[0-9]+)$' },
  entry: { type: 'string', description: 'Where execution starts: a linear address, or SEG:OFF in real mode. Default: the ELF entry, or F000:FFF0 at the reset vector.' },
  stopOnEntry: { type: 'boolean', description: 'Stop at the first instruction.', default: false },
  build: { type: 'boolean', description: 'Build a source program with as/ld/gcc and the mode\'s linker script before running it.', default: true },
  serial: {
    type: ['string', 'array'], items: { type: 'string', enum: ['uart', 'debugcon', 'pseudo-serial', 'virtio-console'] },
    description: 'Which output devices reach the Debug Console: "all", "none", or a list of "uart" (16550 at 0x3F8), "debugcon" (port 0xE9), "pseudo-serial" (port 0xF1), "virtio-console".',
    default: 'all',
  },
  devices: {
    type: 'array', items: { type: 'string', enum: ['virtio-rng', 'virtio-console'] },
    description: 'virtio-mmio devices, listed in start_info (EBX/RBX): device i at 0xFEB00000 + 0x200·i on I/O APIC input 16 + i. Default: the source\'s "kvm-guest: devices=…" comment.',
  },
  irqchip: {
    type: 'string', enum: ['auto', 'monitor', 'kernel'],
    description: 'Whose local APIC, I/O APIC and PIT: "monitor" (the monitor\'s, on both accelerators: every APIC access and HLT exits to user space), "kernel" (KVM\'s in-kernel ones; the virtio devices run in a device thread woken by ioeventfd and raising interrupts by irqfd), "auto" (kernel on KVM for a machine with virtio devices, else monitor).',
    default: 'auto',
  },
  eventfds: {
    type: 'boolean',
    description: 'With KVM\'s in-kernel controllers: irqfd and ioeventfd where KVM offers them (false: KVM_IRQ_LINE, and queue notifications by MMIO exit).',
    default: true,
  },
  cmdline: {
    type: 'string',
    description: 'Multiboot kernels: the command line the kernel gets after its own name (as GRUB and QEMU pass it). The kernel is recognised by its Multiboot or Multiboot2 header; no "mode" is needed.',
  },
  modules: {
    type: 'array', items: { type: 'string' },
    description: 'Multiboot kernels: modules to load after the kernel, each "FILE" or "FILE=STRING" (the module\'s string; default FILE), FILE relative to "cwd".',
  },
  timeout: { type: 'number', description: 'Stop the session when the guest runs this many seconds without stopping (0: never).', default: 0 },
  disassemblySyntax: { type: 'string', enum: ['att', 'intel'], description: 'Syntax of the Disassembly view.', default: 'att' },
  cwd: { type: 'string', description: 'Folder that a relative "program" is resolved against.', default: '${workspaceFolder}' },
  accel: {
    type: 'string', enum: ['auto', 'kvm', 'tcg'],
    description: 'What runs the vCPU: "kvm" (/dev/kvm), "tcg" (the software CPU, Unicorn: no KVM needed; read and write data breakpoints) or "auto" (KVM when it works, else the software CPU). Default: the kvmGuest.accelerator setting.',
    default: 'auto',
  },
  arch: {
    type: 'string', enum: ['x86', 'ppc64'],
    description: 'The guest\'s architecture. Default: from the program (an ELF\'s machine, a "kvm-guest: arch=ppc64" comment, -mpower8 or POWER instructions in the source), else x86. ppc64 guests run on the software CPU.',
  },
  endian: {
    type: 'string', enum: ['big', 'little'],
    description: 'ppc64 only: the byte order to build and run in. Default: the ELF\'s, or -mlittle / a "kvm-guest: endian=little" comment in the source, else big.',
  },
};
