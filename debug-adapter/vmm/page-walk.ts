// Linear → physical translation the way the processor's page walker does it (Intel SDM vol. 3,
// chapter 4 "Paging"), over guest memory given as bytes. Pure and backend-neutral: the software CPU
// uses it to write exception frames and to derive #PF error codes; anything that needs to explain
// a translation can use walkSteps().
//
// Covered: paging off, 32-bit paging (4 KiB pages, 4 MiB pages with CR4.PSE, PSE-36 address bits),
// PAE paging (CR4.PAE without EFER.LMA), 4-level paging (EFER.LMA: 1 GiB, 2 MiB and 4 KiB pages).
// Checks, per SDM 4.6 (access rights) and 4.7 (page-fault exceptions): present, reserved bits
// (MAXPHYADDR = 40), R/W with CR0.WP, U/S, execute-disable (EFER.NXE), SMEP (CR4.SMEP) for fetches.
// Not modelled: 5-level paging (CR4.LA57), SMAP (needs EFLAGS.AC), protection keys, and setting the
// accessed/dirty bits (the walk never writes guest memory). The caller checks canonicity: bits 63:48
// of a 4-level linear address are ignored here (a non-canonical address is #GP/#SS, not #PF).
//
// Paging-structure entries that lie outside guest RAM read as 0 (not present): the walk returns a
// not-present fault for them, as a processor reading all-zero (or floating) memory would.
import type { SRegs } from './cpu-state';
import { CR0_PG, CR0_WP, CR4_PAE, CR4_PSE, CR4_SMEP, EFER_LMA, EFER_NXE } from './cpu-state';

export interface WalkAccess {
  write?: boolean;
  user?: boolean;
  fetch?: boolean;
}

export type WalkResult = { physical: bigint } | { fault: true; errorCode: number };

/** #PF error code bits (SDM vol. 3, 4.7, figure 4-12). */
export const PF_P = 1 << 0; // 0: non-present page; 1: protection violation (or reserved bit)
export const PF_W = 1 << 1; // the access was a write
export const PF_U = 1 << 2; // the access was a user-mode access
export const PF_RSVD = 1 << 3; // a reserved bit was set in some paging-structure entry
export const PF_ID = 1 << 4; // instruction fetch (only with PAE/4-level paging and EFER.NXE, or CR4.SMEP)

export const MAXPHYADDR = 40;

const P = 1n;
const RW = 2n;
const US = 4n;
const PS = 0x80n;
const XD = 1n << 63n;
/** Bits 51:MAXPHYADDR (4-level) — address bits the processor does not have. */
const ABOVE_MAXPHY_51 = ((1n << 52n) - 1n) & ~((1n << BigInt(MAXPHYADDR)) - 1n);
/** Bits 62:MAXPHYADDR (PAE: everything between MAXPHYADDR and XD is reserved). */
const ABOVE_MAXPHY_62 = ((1n << 63n) - 1n) & ~((1n << BigInt(MAXPHYADDR)) - 1n);
const ADDR_MASK = ((1n << BigInt(MAXPHYADDR)) - 1n) & ~0xfffn;

export type PagingMode = 'none' | '32-bit' | 'pae' | '4-level';

/** A level of PAE or 4-level paging: where its index lies in the linear address, what its entries may hold. */
interface WideLevel {
  level: WalkStep['level'];
  /** The index is linear address bits shift+8:shift (shift+1:shift for PAE's four PDPTEs). */
  shift: bigint;
  indexMask: bigint;
  /** Reserved bits besides those above MAXPHYADDR (and XD without EFER.NXE). */
  reserved: bigint;
  /** The entry has R/W, U/S and XD (all but PAE's PDPTEs). */
  rights: boolean;
  /** PS = 1 maps a page of 1 << shift bytes here. */
  largePage?: '2 MiB' | '1 GiB';
}

const PDE_LEVEL: WideLevel = { level: 'PDE', shift: 21n, indexMask: 0x1ffn, reserved: 0n, rights: true, largePage: '2 MiB' };
const PTE_LEVEL: WideLevel = { level: 'PTE', shift: 12n, indexMask: 0x1ffn, reserved: 0n, rights: true };
const PAE_LEVELS: readonly WideLevel[] = [
  // The four PDPTEs are loaded from CR3[31:5] (SDM 4.4.1). Their reserved bits make MOV to CR3 #GP
  // on a real processor; here a walk through such an entry reports a reserved-bit page fault.
  { level: 'PDPTE', shift: 30n, indexMask: 3n, reserved: XD | 0x1e6n, rights: false },
  PDE_LEVEL,
  PTE_LEVEL,
];
const FOUR_LEVELS: readonly WideLevel[] = [
  { level: 'PML4E', shift: 39n, indexMask: 0x1ffn, reserved: PS, rights: true },
  { level: 'PDPTE', shift: 30n, indexMask: 0x1ffn, reserved: 0n, rights: true, largePage: '1 GiB' },
  PDE_LEVEL,
  PTE_LEVEL,
];

export function pagingMode(sregs: SRegs): PagingMode {
  if ((sregs.cr0 & CR0_PG) === 0n) return 'none';
  if ((sregs.efer & EFER_LMA) !== 0n) return '4-level';
  if ((sregs.cr4 & CR4_PAE) !== 0n) return 'pae';
  return '32-bit';
}

/** One paging-structure entry the walk read. */
export interface WalkStep {
  level: 'PML4E' | 'PDPTE' | 'PDE' | 'PTE';
  /** Physical address of the entry. */
  entryAddress: bigint;
  entry: bigint;
  /** A leaf maps a page (PTE, or PS=1 in a PDE/PDPTE). */
  leaf: boolean;
  pageSize?: bigint;
}

export interface WalkExplanation {
  mode: PagingMode;
  steps: WalkStep[];
  result: WalkResult;
  /** Why the walk faulted, in words (only with a fault). */
  reason?: string;
}

/** Translates `linear` for `access` (default: supervisor data read). */
export function walk(mem: Uint8Array, sregs: SRegs, linear: bigint, access: WalkAccess = {}): WalkResult {
  return walkSteps(mem, sregs, linear, access).result;
}

/** Like walk(), also returning the entries read and the reason for a fault. */
export function walkSteps(mem: Uint8Array, sregs: SRegs, linear: bigint, access: WalkAccess = {}): WalkExplanation {
  const mode = pagingMode(sregs);
  const steps: WalkStep[] = [];
  const write = !!access.write && !access.fetch;
  const user = !!access.user;
  const fetch = !!access.fetch;
  const nxe = (sregs.efer & EFER_NXE) !== 0n;
  const smep = (sregs.cr4 & CR4_SMEP) !== 0n;
  const wp = (sregs.cr0 & CR0_WP) !== 0n;

  // SDM 4.7: I/D is set for fetches when SMEP = 1, or when PAE/4-level paging is used with NXE = 1.
  const idBit = fetch && (smep || (mode !== '32-bit' && mode !== 'none' && nxe)) ? PF_ID : 0;
  const baseCode = (write ? PF_W : 0) | (user ? PF_U : 0) | idBit;
  const fault = (p: boolean, rsvd: boolean, reason: string): WalkExplanation => ({
    mode, steps, reason,
    result: { fault: true, errorCode: baseCode | (p ? PF_P : 0) | (rsvd ? PF_RSVD : 0) },
  });

  if (mode === 'none') {
    const physical = (sregs.efer & EFER_LMA) !== 0n ? linear : linear & 0xffffffffn;
    return { mode, steps, result: { physical } };
  }

  const wide = mode !== '32-bit';
  const read = (addr: bigint): bigint => (wide ? readU64(mem, addr) : readU32(mem, addr));
  const step = (level: WalkStep['level'], entryAddress: bigint, leaf = false, pageSize?: bigint): bigint => {
    const entry = read(entryAddress);
    steps.push({ level, entryAddress, entry, leaf, pageSize });
    return entry;
  };
  const markLeaf = (pageSize: bigint): void => {
    const last = steps[steps.length - 1];
    last.leaf = true;
    last.pageSize = pageSize;
  };

  // Access rights accumulate over the levels that have them (SDM 4.6.1).
  let writable = true;
  let userOk = true;
  let noExec = false;
  const accumulate = (e: bigint): void => {
    if ((e & RW) === 0n) writable = false;
    if ((e & US) === 0n) userOk = false;
    if (nxe && (e & XD) !== 0n) noExec = true;
  };
  // Reserved bits common to PAE and 4-level entries: XD when NXE = 0.
  const xdReserved = (e: bigint): boolean => !nxe && (e & XD) !== 0n;

  // PAE and 4-level paging: 8-byte entries, the same checks at every level until a leaf maps the page.
  const walkWide = (levels: readonly WideLevel[], table: bigint, lin: bigint, aboveMaxPhy: bigint): bigint | WalkExplanation => {
    for (const lv of levels) {
      const isPte = lv.level === 'PTE';
      const entryAddress = table + ((lin >> lv.shift) & lv.indexMask) * 8n;
      const e = step(lv.level, entryAddress, isPte, isPte ? 4096n : undefined);
      if ((e & P) === 0n) return fault(false, false, `${lv.level} at ${hex(entryAddress)} is not present`);
      if ((e & (aboveMaxPhy | lv.reserved)) !== 0n || (lv.rights && xdReserved(e)))
        return fault(true, true, `${lv.level} at ${hex(entryAddress)} has reserved bits set`);
      if (lv.rights) accumulate(e);
      if (isPte) return (e & ADDR_MASK) | (lin & 0xfffn);
      if (lv.largePage !== undefined && (e & PS) !== 0n) {
        // Bit 12 is PAT; the frame's other bits below the page size are reserved.
        const size = 1n << lv.shift;
        if ((e & (size - 1n) & ~0x1fffn) !== 0n)
          return fault(true, true, `${lv.largePage} ${lv.level} at ${hex(entryAddress)} has reserved bits ${lv.shift - 1n}:13 set`);
        markLeaf(size);
        return (e & ADDR_MASK & ~(size - 1n)) | (lin & (size - 1n));
      }
      table = e & ADDR_MASK;
    }
    throw new Error('unreachable: the PTE level always maps a page');
  };

  let physical: bigint;

  if (mode === '32-bit') {
    const lin = linear & 0xffffffffn;
    const pdeAddr = (sregs.cr3 & 0xfffff000n) + ((lin >> 22n) & 0x3ffn) * 4n;
    const pde = step('PDE', pdeAddr);
    if ((pde & P) === 0n) return fault(false, false, `PDE at ${hex(pdeAddr)} is not present`);
    accumulate(pde);
    if ((pde & PS) !== 0n && (sregs.cr4 & CR4_PSE) !== 0n) {
      // 4 MiB page: bits 31:22 of the address from PDE bits 31:22, bits 39:32 from PDE bits 20:13
      // (PSE-36, SDM table 4-4); bit 21 is reserved with MAXPHYADDR = 40.
      if ((pde & (1n << 21n)) !== 0n) return fault(true, true, `4 MiB PDE at ${hex(pdeAddr)} has reserved bit 21 set`);
      markLeaf(1n << 22n);
      const high = ((pde >> 13n) & 0xffn) << 32n;
      physical = high | (pde & 0xffc00000n) | (lin & 0x3fffffn);
    } else {
      const pteAddr = (pde & 0xfffff000n) + ((lin >> 12n) & 0x3ffn) * 4n;
      const pte = step('PTE', pteAddr, true, 4096n);
      if ((pte & P) === 0n) return fault(false, false, `PTE at ${hex(pteAddr)} is not present`);
      accumulate(pte);
      physical = (pte & 0xfffff000n) | (lin & 0xfffn);
    }
  } else {
    const found = mode === 'pae'
      ? walkWide(PAE_LEVELS, sregs.cr3 & 0xffffffe0n, linear & 0xffffffffn, ABOVE_MAXPHY_62)
      : walkWide(FOUR_LEVELS, sregs.cr3 & ADDR_MASK, linear & 0xffffffffffffn, ABOVE_MAXPHY_51);
    if (typeof found !== 'bigint') return found;
    physical = found;
  }

  // Access rights (SDM 4.6.1).
  if (user && !userOk) return fault(true, false, 'user-mode access to a supervisor-mode page');
  if (write) {
    if (!writable && (user || wp)) return fault(true, false, user ? 'user-mode write to a read-only page' : 'supervisor write to a read-only page with CR0.WP = 1');
  }
  if (fetch) {
    if (noExec) return fault(true, false, 'instruction fetch from an execute-disable page');
    if (!user && smep && userOk) return fault(true, false, 'supervisor fetch from a user-mode page with CR4.SMEP = 1');
  }
  return { mode, steps, result: { physical } };
}

function readU32(mem: Uint8Array, addr: bigint): bigint {
  if (addr < 0n || addr + 4n > BigInt(mem.length)) return 0n;
  const a = Number(addr);
  return BigInt((mem[a] | (mem[a + 1] << 8) | (mem[a + 2] << 16) | (mem[a + 3] << 24)) >>> 0);
}

function readU64(mem: Uint8Array, addr: bigint): bigint {
  if (addr < 0n || addr + 8n > BigInt(mem.length)) return 0n;
  return readU32(mem, addr) | (readU32(mem, addr + 4n) << 32n);
}

function hex(v: bigint): string {
  return '0x' + v.toString(16);
}

/** Whether a 64-bit linear address is canonical for 4-level paging (bits 63:47 all equal). */
export function isCanonical(linear: bigint): boolean {
  const top = (linear >> 47n) & 0x1ffffn;
  return top === 0n || top === 0x1ffffn;
}
