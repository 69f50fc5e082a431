// Operand values the way the CPU forms them, from iced-x86's register ids and our register file:
// shared by the two places that work out which instruction made a memory or I/O access.
import { Register, RegisterExt } from 'iced-x86';
import type { CpuState, Regs } from './cpu-state';

export const SEGMENT_OF: Partial<Record<number, 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs'>> = {
  [Register.ES]: 'es', [Register.CS]: 'cs', [Register.SS]: 'ss', [Register.DS]: 'ds', [Register.FS]: 'fs', [Register.GS]: 'gs',
};

const GPR_OF = new Map<Register, keyof Regs>();
for (const name of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const)
  GPR_OF.set((Register as unknown as Record<string, Register>)[name.toUpperCase()], name);

/** A general-purpose register's value as the operand `r` reads it (AH–BH, 8/16/32/64-bit views). */
export function gpr(state: CpuState, r: Register): bigint {
  if (r === Register.None) return 0n;
  const key = GPR_OF.get(RegisterExt.fullRegister(r));
  if (key === undefined) return 0n;
  const v = state.regs[key];
  if (r >= Register.AH && r <= Register.BH) return (v >> 8n) & 0xffn;
  return v & ((1n << BigInt(RegisterExt.size(r) * 8)) - 1n);
}
