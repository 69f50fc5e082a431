// The PowerPC part of Unicorn 2 (UC_ARCH_PPC) that the ppc64 software CPU uses, on top of the
// library loader the x86 software CPU already has (tcg/unicorn-lib.ts). Values are those of
// /usr/include/unicorn/{unicorn,ppc}.h of 2.0.1 (test/ppc64/unicorn-ppc.test.ts checks them with a C probe).
//
// Measured facts on Unicorn 2.0.1 (Debian 12's libunicorn2), each pinned by test/ppc64:
// - uc_open(UC_ARCH_PPC, UC_MODE_PPC64 | UC_MODE_LITTLE_ENDIAN) is refused (UC_ERR_MODE): the engine
//   is opened big-endian and little-endian guests run with MSR[LE] = 1, as on the hardware, where
//   the byte order of instruction fetch and data is chosen by MSR[LE] alone.
// - uc_ctl_set_cpu_model(UC_CPU_PPC64_*) selects the wrong CPU: 2.0.1 bounds-checks the 64-bit
//   model number but then indexes the CPU table without the 64-bit offset, so POWER8_V2_0 (14) gives
//   a 32-bit embedded core (MSR mask 0x6e630: no SF, no LE). Only the default model — POWER10 v1.0 —
//   is a 64-bit server CPU: we keep it. It implements Power ISA 3.1, a superset of POWER8's 2.07.
// - That CPU starts with MSR[HV] = 0, and a non-hypervisor real-mode fetch goes through the VRMA,
//   which nothing has set up: every instruction ends in a Hypervisor Instruction Storage interrupt
//   (70). A bare-metal POWER machine runs in hypervisor state after reset, so we set MSR[HV]; MSR
//   writes through uc_reg_write never change HV (alter_hv = 0 in uc_ppc_store_msr), so HV is set in
//   a saved context (see setHypervisorState) and restored.
// - With HV set, MSR writes through uc_reg_write recompute the translation flags, so MSR[LE] = 1
//   makes the engine fetch and access memory little-endian.
// - An instruction the CPU does not implement (zeros after the program, for example) raises
//   UC_HOOK_INTR 96 (Hypervisor Emulation Assistance), `trap` 6 (Program), `sc` 8 (System Call):
//   each with PC past the instruction. Unicorn delivers none of them through the vectors.
import koffi from 'koffi';
import type { UcEngine, UnicornLib } from '../tcg/unicorn-lib';
import { check } from '../tcg/unicorn-lib';

export const UC_ARCH_PPC = 5;
export const UC_MODE_PPC64 = 1 << 3;
export const UC_MODE_BIG_ENDIAN = 1 << 30;

/** uc_ppc_reg (ppc.h of 2.0.1). */
export const PPC = {
  PC: 1,
  /** R0 is 2, R31 is 33. */
  R0: 2,
  /** CR0–CR7 fields are 34–41. */
  CR0: 34,
  LR: 74,
  XER: 75,
  CTR: 76,
  MSR: 77,
  CR: 79,
} as const;

/** MSR bits (Power ISA book III: bit 63 - n is the architecture's bit n). */
export const MSR_SF = 1n << 63n;
export const MSR_HV = 1n << 60n;
export const MSR_LE = 1n;

/** QEMU's interrupt numbers as UC_HOOK_INTR reports them (target/ppc/cpu.h, POWERPC_EXCP_*). */
export const PPC_INTERRUPT: Readonly<Record<number, string>> = {
  1: 'Machine Check',
  2: 'Data Storage',
  3: 'Instruction Storage',
  5: 'Alignment',
  6: 'Program',
  7: 'Floating-Point Unavailable',
  8: 'System Call',
  10: 'Decrementer',
  64: 'System Reset',
  65: 'Data Segment',
  66: 'Instruction Segment',
  69: 'Hypervisor Data Storage',
  70: 'Hypervisor Instruction Storage',
  73: 'Vector Unavailable',
  94: 'VSX Unavailable',
  95: 'Facility Unavailable',
  96: 'Hypervisor Emulation Assistance',
};
export const INTR_PROGRAM = 6;
export const INTR_SYSCALL = 8;
export const INTR_HV_EMULATION = 96;

/**
 * Sets MSR[HV] (and the rest of `msr`) although uc_reg_write may not change HV: saves a context,
 * finds the MSR's 8 bytes in it by writing two different MSR values through the API and diffing the
 * two saved contexts (the context is Unicorn's private copy of the CPU state: its layout is not
 * part of the API, so it is located, not assumed), sets HV there, restores, and finally writes the
 * MSR through the API so that the translation flags are recomputed with HV set.
 * Throws when the MSR cannot be located exactly once (another Unicorn version).
 */
export function setHypervisorState(lib: UnicornLib, uc: UcEngine, msr: bigint): void {
  const size = lib.uc_context_size(uc);
  const a: unknown[] = [null];
  const b: unknown[] = [null];
  check(lib.uc_context_alloc(uc, a), 'uc_context_alloc');
  try {
    check(lib.uc_context_alloc(uc, b), 'uc_context_alloc');
    try {
      const first = MSR_SF;
      const second = MSR_SF | MSR_LE | (1n << 12n); // SF, LE, ME: all writable on a 64-bit server CPU
      writeMsr(lib, uc, first);
      check(lib.uc_context_save(uc, a[0]), 'uc_context_save');
      writeMsr(lib, uc, second);
      check(lib.uc_context_save(uc, b[0]), 'uc_context_save');
      const va = new DataView(koffi.view(a[0] as never, size));
      const vb = new DataView(koffi.view(b[0] as never, size));
      const at: number[] = [];
      for (let off = 0; off + 8 <= size; off += 8)
        if (va.getBigUint64(off, true) === first && vb.getBigUint64(off, true) === second) at.push(off);
      if (at.length !== 1)
        throw new Error(`cannot set MSR[HV] on this Unicorn (${lib.version.text}): the MSR was found ${at.length} times in a saved context, expected once`);
      vb.setBigUint64(at[0], vb.getBigUint64(at[0], true) | MSR_HV, true);
      check(lib.uc_context_restore(uc, b[0]), 'uc_context_restore');
      writeMsr(lib, uc, msr);
      if ((readMsr(lib, uc) & MSR_HV) === 0n) throw new Error(`cannot set MSR[HV] on this Unicorn (${lib.version.text})`);
    } finally {
      lib.uc_context_free(b[0]);
    }
  } finally {
    lib.uc_context_free(a[0]);
  }
}

const scratch = Buffer.alloc(8);
export function writeMsr(lib: UnicornLib, uc: UcEngine, value: bigint): void {
  scratch.writeBigUInt64LE(value);
  check(lib.uc_reg_write(uc, PPC.MSR, scratch), 'uc_reg_write(MSR)');
}
export function readMsr(lib: UnicornLib, uc: UcEngine): bigint {
  scratch.fill(0);
  check(lib.uc_reg_read(uc, PPC.MSR, scratch), 'uc_reg_read(MSR)');
  return scratch.readBigUInt64LE();
}
