// koffi bindings of the part of Unicorn 2 (libunicorn.so.2, QEMU's TCG as a library) the software CPU
// uses. Unicorn is GPL-2.0: it is loaded from the system, never shipped. Constants are the values of
// /usr/include/unicorn/{unicorn,x86}.h of 2.0.1 (checked with a C probe: see test/tcg).
import koffi from 'koffi';

export const INSTALL_HINT = 'Debian/Ubuntu: sudo apt-get install libunicorn2; Fedora: sudo dnf install unicorn; macOS: brew install unicorn';

/** The software CPU cannot be used on this machine (library missing or of the wrong version). */
export class SoftwareCpuUnavailable extends Error {
  constructor(detail: string) {
    super(`the software CPU (Unicorn 2) is not available: ${detail}. Install it: ${INSTALL_HINT}`);
    this.name = 'SoftwareCpuUnavailable';
  }
}

export const UC_ARCH_X86 = 4;
export const UC_MODE_64 = 8;

export const UC_ERR = {
  OK: 0, NOMEM: 1, ARCH: 2, HANDLE: 3, MODE: 4, VERSION: 5, READ_UNMAPPED: 6, WRITE_UNMAPPED: 7, FETCH_UNMAPPED: 8,
  HOOK: 9, INSN_INVALID: 10, MAP: 11, WRITE_PROT: 12, READ_PROT: 13, FETCH_PROT: 14, ARG: 15, EXCEPTION: 21,
} as const;

export const UC_HOOK = {
  INTR: 1 << 0, INSN: 1 << 1, CODE: 1 << 2, BLOCK: 1 << 3,
  MEM_READ_UNMAPPED: 1 << 4, MEM_WRITE_UNMAPPED: 1 << 5, MEM_FETCH_UNMAPPED: 1 << 6, MEM_FETCH_PROT: 1 << 9,
  MEM_READ: 1 << 10, MEM_WRITE: 1 << 11, MEM_FETCH: 1 << 12, MEM_READ_AFTER: 1 << 13, INSN_INVALID: 1 << 14,
} as const;

export const UC_MEM = { READ: 16, WRITE: 17, FETCH: 18, READ_UNMAPPED: 19, WRITE_UNMAPPED: 20, FETCH_UNMAPPED: 21, READ_AFTER: 25 } as const;
export const UC_PROT_ALL = 7;

/** UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0) = 10 | 1 << 30. */
const UC_CTL_WRITE_TB_FLUSH = 0x4000000a;
/** UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2) = 9 | 2 << 26 | 1 << 30. */
const UC_CTL_WRITE_TB_REMOVE_CACHE = 0x48000009;

export const UC_X86_INS_IN = 218;
export const UC_X86_INS_OUT = 500;

/** uc_x86_reg values (x86.h of 2.0.1). */
export const X86 = {
  CS: 11, DS: 17, ES: 28, FS: 32, GS: 33, SS: 49, IP: 34, EIP: 26, EFLAGS: 25,
  RAX: 35, RBP: 36, RBX: 37, RCX: 38, RDI: 39, RDX: 40, RIP: 41, RSI: 43, RSP: 44,
  R8: 106, R9: 107, R10: 108, R11: 109, R12: 110, R13: 111, R14: 112, R15: 113,
  CR0: 50, CR2: 52, CR3: 53, CR4: 54, CR8: 58,
  IDTR: 242, GDTR: 243, LDTR: 244, TR: 245, MSR: 248, FS_BASE: 250, GS_BASE: 251, RFLAGS: 253,
} as const;

/** uc_x86_mmr {u16 selector; u64 base; u32 limit; u32 flags}: 24 bytes. */
export const MMR = { SIZE: 24, SELECTOR: 0, BASE: 8, LIMIT: 16, FLAGS: 20 } as const;
/** uc_x86_msr {u32 rid; u64 value}: 16 bytes. */
export const MSR = { SIZE: 16, RID: 0, VALUE: 8 } as const;

/** An opaque uc_engine* (koffi pointer). */
export type UcEngine = unknown;

// Callback prototypes. The engine and user_data arguments are declared as integers so that a call
// from the emulator does not allocate a pointer wrapper (the OUT path is hot).
export const OutCallback = koffi.proto('void uc_cb_insn_out(uint64_t uc, uint32_t port, int size, uint32_t value, uint64_t user)');
export const InCallback = koffi.proto('uint32_t uc_cb_insn_in(uint64_t uc, uint32_t port, int size, uint64_t user)');
export const CodeCallback = koffi.proto('void uc_cb_hookcode(uint64_t uc, uint64_t address, uint32_t size, uint64_t user)');
export const IntrCallback = koffi.proto('void uc_cb_hookintr(uint64_t uc, uint32_t intno, uint64_t user)');
export const MemCallback = koffi.proto('void uc_cb_hookmem(uint64_t uc, int type, uint64_t address, int size, int64_t value, uint64_t user)');
export const EventMemCallback = koffi.proto('bool uc_cb_eventmem(uint64_t uc, int type, uint64_t address, int size, int64_t value, uint64_t user)');
export const MmioReadCallback = koffi.proto('uint64_t uc_cb_mmio_read(uint64_t uc, uint64_t offset, uint32_t size, uint64_t user)');
export const MmioWriteCallback = koffi.proto('void uc_cb_mmio_write(uint64_t uc, uint64_t offset, uint32_t size, uint64_t value, uint64_t user)');

export interface UnicornLib {
  version: { major: number; minor: number; patch: number; text: string };
  uc_open(arch: number, mode: number, out: unknown[]): number;
  uc_close(uc: UcEngine): number;
  uc_errno(uc: UcEngine): number;
  uc_strerror(code: number): string;
  uc_reg_read(uc: UcEngine, regid: number, value: Buffer): number;
  uc_reg_write(uc: UcEngine, regid: number, value: Buffer): number;
  uc_mem_map_ptr(uc: UcEngine, address: bigint | number, size: number, perms: number, ptr: bigint | number): number;
  uc_mmio_map(uc: UcEngine, address: bigint | number, size: number, read: unknown, userRead: number, write: unknown, userWrite: number): number;
  uc_mem_unmap(uc: UcEngine, address: bigint | number, size: number): number;
  /** uc_hook_add with the variadic instruction id (UC_HOOK_INSN) or none. */
  uc_hook_add(uc: UcEngine, out: bigint[], type: number, callback: unknown, user: number, begin: bigint, end: bigint, insn?: number): number;
  uc_hook_del(uc: UcEngine, hook: bigint): number;
  uc_emu_start(uc: UcEngine, begin: bigint, until: bigint, timeout: number, count: number): number;
  uc_emu_stop(uc: UcEngine): number;
  uc_context_alloc(uc: UcEngine, out: unknown[]): number;
  uc_context_save(uc: UcEngine, ctx: unknown): number;
  uc_context_restore(uc: UcEngine, ctx: unknown): number;
  uc_context_size(uc: UcEngine): number;
  uc_context_free(ctx: unknown): number;
  /** uc_ctl(UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0)): drop every translated block. */
  flushTranslations(uc: UcEngine): number;
  /** uc_ctl(UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), begin, end): drop the blocks covering [begin, end). */
  removeTranslations(uc: UcEngine, begin: bigint, end: bigint): number;
}

let loaded: UnicornLib | undefined;

/**
 * The library. KVM_GUEST_UNICORN_LIB overrides it (a path, or another soname), so that a machine
 * with Unicorn can show — and test — what users without it get.
 */
const LIBRARY = process.env.KVM_GUEST_UNICORN_LIB || 'libunicorn.so.2';
export const REQUIRED_MAJOR = 2;

/** Loads libunicorn.so.2 once; throws SoftwareCpuUnavailable when absent or not version 2. */
export function unicorn(): UnicornLib {
  if (loaded) return loaded;
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(LIBRARY);
  } catch (e) {
    throw new SoftwareCpuUnavailable(`${LIBRARY} could not be loaded (${e instanceof Error ? e.message : String(e)})`);
  }
  const uc_version = lib.func('unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)');
  const major = [0];
  const minor = [0];
  const combined = uc_version(major, minor) as number;
  // uc_version returns (major << 24 | minor << 16 | patch << 8 | extra); the out-parameters agree.
  const patch = (combined >>> 8) & 0xff;
  const text = `${major[0]}.${minor[0]}.${patch}`;
  if (major[0] !== REQUIRED_MAJOR)
    throw new SoftwareCpuUnavailable(`${LIBRARY} reports Unicorn version ${text}, but version ${REQUIRED_MAJOR}.x is required`);

  const ucCtl = lib.func('int uc_ctl(void *uc, int control, ...)');
  const hookAdd = lib.func('int uc_hook_add(void *uc, _Out_ uint64_t *hh, int type, void *callback, uint64_t user_data, uint64_t begin, uint64_t end, ...)');
  const api = {
    version: { major: major[0], minor: minor[0], patch, text },
    uc_open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: lib.func('int uc_close(void *uc)'),
    uc_errno: lib.func('int uc_errno(void *uc)'),
    uc_strerror: lib.func('const char *uc_strerror(int code)'),
    uc_reg_read: lib.func('int uc_reg_read(void *uc, int regid, void *value)'),
    uc_reg_write: lib.func('int uc_reg_write(void *uc, int regid, const void *value)'),
    uc_mem_map_ptr: lib.func('int uc_mem_map_ptr(void *uc, uint64_t address, size_t size, uint32_t perms, uint64_t ptr)'),
    uc_mmio_map: lib.func('int uc_mmio_map(void *uc, uint64_t address, size_t size, void *read_cb, uint64_t user_read, void *write_cb, uint64_t user_write)'),
    uc_mem_unmap: lib.func('int uc_mem_unmap(void *uc, uint64_t address, size_t size)'),
    uc_hook_add: (uc: UcEngine, out: bigint[], type: number, callback: unknown, user: number, begin: bigint, end: bigint, insn?: number): number =>
      (insn === undefined ? hookAdd(uc, out, type, callback, user, begin, end) : hookAdd(uc, out, type, callback, user, begin, end, 'int', insn)) as number,
    uc_hook_del: lib.func('int uc_hook_del(void *uc, uint64_t hh)'),
    uc_emu_start: lib.func('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    uc_emu_stop: lib.func('int uc_emu_stop(void *uc)'),
    uc_context_alloc: lib.func('int uc_context_alloc(void *uc, _Out_ void **ctx)'),
    uc_context_save: lib.func('int uc_context_save(void *uc, void *ctx)'),
    uc_context_restore: lib.func('int uc_context_restore(void *uc, void *ctx)'),
    uc_context_size: lib.func('size_t uc_context_size(void *uc)'),
    uc_context_free: lib.func('int uc_context_free(void *ctx)'),
    flushTranslations: (uc: UcEngine): number => ucCtl(uc, UC_CTL_WRITE_TB_FLUSH) as number,
    removeTranslations: (uc: UcEngine, begin: bigint, end: bigint): number =>
      ucCtl(uc, UC_CTL_WRITE_TB_REMOVE_CACHE, 'uint64_t', begin, 'uint64_t', end) as number,
  };
  loaded = api as unknown as UnicornLib;
  return loaded;
}

/** Throws with Unicorn's own words when `err` is not UC_ERR_OK. */
export function check(err: number, what: string): void {
  if (err !== UC_ERR.OK) throw new Error(`${what} failed: ${unicorn().uc_strerror(err)} (UC_ERR ${err})`);
}

/**
 * The main thread's uc_emu_stop, taking the engine's address (koffi.address of the worker's handle):
 * pointers do not cross threads, integers do. Loaded lazily, separately from unicorn() so that a kick
 * never depends on the worker's bindings.
 */
let stopByAddress: ((uc: bigint) => number) | undefined;
export function emuStopByAddress(engine: bigint): number {
  if (!stopByAddress) {
    unicorn(); // the same availability checks
    stopByAddress = koffi.load(LIBRARY).func('int uc_emu_stop(uint64_t uc)') as (uc: bigint) => number;
  }
  return stopByAddress(engine);
}
