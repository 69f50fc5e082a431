// Human-readable accounts of why a guest stopped, and register dumps, for the CLI and the debugger.
import type { CpuMode } from '../toolchain/modes';
import { disassemble, Bitness } from '../program/disassembler';
import { describeEntryFailure } from './kvm/exit-reasons';
import type { StopInfo } from './vcpu-protocol';
import { guestExitStatus } from './devices/isa-debug-exit';
import type { Regs, SRegs } from './cpu-state';
import { REG_NAMES } from './cpu-state';

const h = (v: bigint, width = 0): string => '0x' + v.toString(16).padStart(width, '0');

/** The bitness the CPU is executing in, from CR0.PE, EFER.LMA and CS.L/CS.D. */
export function currentBitness(sregs: SRegs): Bitness {
  if ((sregs.cr0 & 1n) === 0n) return 16;
  if ((sregs.efer & (1n << 10n)) !== 0n && sregs.cs.l) return 64;
  return sregs.cs.db ? 32 : 16;
}

/** The current mode as a user names it. */
export function currentModeName(sregs: SRegs): string {
  if ((sregs.cr0 & 1n) === 0n) return 'real mode';
  if ((sregs.efer & (1n << 10n)) !== 0n) return sregs.cs.l ? '64-bit long mode' : 'compatibility mode';
  const paging = (sregs.cr0 & (1n << 31n)) !== 0n;
  return `${currentBitness(sregs)}-bit protected mode${paging ? ' with paging' : ''}`;
}

/** Where the CPU is: CS:IP in real mode, otherwise RIP (and the linear address when CS.base ≠ 0). */
export function describePc(regs: Regs, sregs: SRegs): string {
  if ((sregs.cr0 & 1n) === 0n)
    return `${sregs.cs.selector.toString(16).padStart(4, '0')}:${(regs.rip & 0xffffn).toString(16).padStart(4, '0')} (linear ${h(sregs.cs.base + regs.rip)})`;
  return sregs.cs.base !== 0n ? `RIP ${h(regs.rip)} (linear ${h(sregs.cs.base + regs.rip)})` : `RIP ${h(regs.rip)}`;
}

export function describeInstruction(bytes: number[] | undefined, regs: Regs, sregs: SRegs): string {
  if (!bytes || bytes.length === 0) return '';
  const [first] = disassemble(new Uint8Array(bytes), regs.rip, currentBitness(sregs), 1);
  const hexBytes = (first ? bytes.slice(0, first.bytes.length) : bytes).map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return first && !first.invalid ? `${hexBytes}  (${first.text})` : `${hexBytes}  (not a valid instruction)`;
}

/** One line saying what happened, with where. */
export function describeStop(stop: StopInfo, opts: { timeoutSeconds?: number } = {}): string {
  const { regs, sregs } = stop;
  const where = `${describePc(regs, sregs)} in ${currentModeName(sregs)}`;
  switch (stop.reason) {
    case 'halted':
      return (regs.rflags & 0x200n) === 0n
        ? `guest halted (HLT with interrupts off) at ${where}`
        : `guest halted with interrupts enabled at ${where}; no device raises interrupts, so it would wait forever`;
    case 'exited': {
      const v = stop.guestExitCode ?? 0;
      return `guest exited through isa-debug-exit (port 0xf4) with value ${v} (${h(BigInt(v))}; exit status ${guestExitStatus(v)} = (value << 1) | 1, as QEMU) at ${where}`;
    }
    case 'shutdown': {
      const insn = describeInstruction(stop.instructionBytes, regs, sregs);
      const how =
        stop.accelerator === 'kvm' || !stop.detail
          ? 'an exception could not be delivered (no IDT, a broken IDT/GDT, or a fault while handling a fault)'
          : stop.detail;
      return `guest triple-faulted (${stop.accelerator === 'kvm' ? 'KVM_EXIT_SHUTDOWN' : 'shutdown'}) at ${where}: ${how}` + (insn ? `; instruction there: ${insn}` : '');
    }
    case 'internal-error': {
      const insn = describeInstruction(stop.instructionBytes, regs, sregs);
      const data = stop.internalData?.length ? `; data ${stop.internalData.map((d) => h(d)).join(' ')}` : '';
      const what = stop.detail ?? (stop.accelerator === 'kvm' ? 'KVM internal error' : 'software CPU error');
      return `${what} at ${where}` + (insn ? `; instruction: ${insn}` : '') + data;
    }
    case 'entry-failure':
      return `KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY): ${describeEntryFailure(stop.hardwareReason ?? 0n)}; at ${where}`;
    case 'timeout':
      return `guest still running after ${opts.timeoutSeconds ?? '?'} s: stopped at ${where}`;
    case 'paused':
      return `guest paused at ${where}`;
    case 'terminated':
      return `guest stopped at ${where}`;
    case 'debug':
      return `debug exit (exception ${stop.debug?.exception}) at ${where}`;
    case 'breakpoint':
      return `breakpoint at ${where}`;
    case 'step':
      return `stepped to ${where}`;
    case 'data-breakpoint': {
      const a = stop.access!;
      const bytes = a.data.map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const by = a.at !== undefined ? ` by the instruction at ${h(a.at)}` : '';
      return `data breakpoint: the guest ${a.write ? 'wrote' : 'read'} ${a.length} byte${a.length === 1 ? '' : 's'} (${bytes}) at 0x${a.address.toString(16)}${by}; now at ${where}`;
    }
    case 'run-error':
      return `${stop.accelerator === 'kvm' ? 'KVM_RUN' : 'the software CPU'} failed with ${stop.errno} at ${where}`;
    case 'unhandled-exit':
      return `guest stopped on an exit this monitor does not handle: ${stop.unhandled?.name} (${stop.unhandled?.reason}) at ${where}`;
  }
}

/** Registers as lower-case name → hex string (the CLI's JSON contract). */
export function registerRecord(regs: Regs, sregs: SRegs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of REG_NAMES) out[n] = h(regs[n]);
  for (const s of ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const) {
    out[s] = h(BigInt(sregs[s].selector));
    out[`${s}_base`] = h(sregs[s].base);
    out[`${s}_limit`] = h(BigInt(sregs[s].limit));
  }
  for (const c of ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'] as const) out[c] = h(sregs[c]);
  out.gdtr_base = h(sregs.gdt.base);
  out.gdtr_limit = h(BigInt(sregs.gdt.limit));
  out.idtr_base = h(sregs.idt.base);
  out.idtr_limit = h(BigInt(sregs.idt.limit));
  return out;
}

/** A register dump in the style of the launchers users know. */
export function formatRegisters(regs: Regs, sregs: SRegs): string {
  const g = (names: readonly (keyof Regs)[]): string => names.map((n) => `${n.padStart(3)}=${h(regs[n], 16)}`).join(' ');
  const seg = (n: 'cs' | 'ds' | 'es' | 'fs' | 'gs' | 'ss' | 'tr') =>
    `${n}=${sregs[n].selector.toString(16).padStart(4, '0')} base=${h(sregs[n].base, 8)} limit=${h(BigInt(sregs[n].limit), 8)}`;
  return [
    g(['rax', 'rbx', 'rcx', 'rdx']),
    g(['rsi', 'rdi', 'rsp', 'rbp']),
    g(['r8', 'r9', 'r10', 'r11']),
    g(['r12', 'r13', 'r14', 'r15']),
    `rip=${h(regs.rip, 16)} rflags=${h(regs.rflags, 8)}`,
    `${seg('cs')}  ${seg('ss')}`,
    `${seg('ds')}  ${seg('es')}`,
    `${seg('fs')}  ${seg('gs')}`,
    `cr0=${h(sregs.cr0, 8)} cr2=${h(sregs.cr2)} cr3=${h(sregs.cr3)} cr4=${h(sregs.cr4)} efer=${h(sregs.efer)}`,
    `gdt=${h(sregs.gdt.base)}/${h(BigInt(sregs.gdt.limit))} idt=${h(sregs.idt.base)}/${h(BigInt(sregs.idt.limit))}`,
  ].join('\n');
}
