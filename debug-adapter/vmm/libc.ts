// The few libc entry points the monitor needs, bound with koffi. Every call that can fail is
// wrapped so that failures surface as SysError with the errno name and the operation attempted.
import koffi from 'koffi';
import os from 'node:os';

const lib = koffi.load('libc.so.6');

const c_open = lib.func('int open(const char *path, int flags)');
const c_close = lib.func('int close(int fd)');
/** ioctl with a pointer argument (a Buffer or an address). */
const c_ioctl_ptr = lib.func('int ioctl(int fd, unsigned long req, void *arg)');
/** ioctl with an integer argument. */
const c_ioctl_int = lib.func('int ioctl(int fd, unsigned long req, unsigned long arg)');
const c_mmap = lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)');
const c_munmap = lib.func('int munmap(void *addr, size_t len)');
const c_syscall0 = lib.func('long syscall(long nr)');
const c_syscall3 = lib.func('long syscall(long nr, long a, long b, long c)');
const c_getpid = lib.func('int getpid()');
const c_eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
const c_read = lib.func('long read(int fd, _Out_ uint8_t *buf, size_t count)');
const c_write = lib.func('long write(int fd, const uint8_t *buf, size_t count)');
const c_pread = lib.func('long pread(int fd, _Out_ uint8_t *buf, size_t count, int64_t offset)');
const c_poll = lib.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)');

export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 1;
const SYS_gettid = 186;
const SYS_tgkill = 234;

const errnoNames: Record<number, string> = {};
for (const [name, value] of Object.entries(os.constants.errno)) errnoNames[value] = name;

export class SysError extends Error {
  constructor(readonly operation: string, readonly errno: number) {
    super(`${operation} failed: ${errnoNames[errno] ?? 'errno ' + errno} (${describeErrno(errno)})`);
    this.name = 'SysError';
  }
  get code(): string {
    return errnoNames[this.errno] ?? `E${this.errno}`;
  }
}

function describeErrno(errno: number): string {
  switch (errnoNames[errno]) {
    case 'ENOENT': return 'no such file or device';
    case 'EACCES': return 'permission denied';
    case 'EPERM': return 'operation not permitted';
    case 'EINVAL': return 'invalid argument';
    case 'ENOMEM': return 'out of memory';
    case 'EINTR': return 'interrupted';
    case 'EEXIST': return 'already exists';
    case 'EFAULT': return 'bad address';
    case 'ENXIO': return 'no such device';
    case 'EBUSY': return 'device busy';
    default: return 'see errno(3)';
  }
}

export function errno(): number {
  return koffi.errno();
}

export function open(path: string, flags: number): number {
  const fd = c_open(path, flags) as number;
  if (fd < 0) throw new SysError(`open ${path}`, koffi.errno());
  return fd;
}

export function close(fd: number): void {
  c_close(fd);
}

/** ioctl with a struct argument; returns the (non-negative) result or throws. */
export function ioctlPtr(fd: number, req: number, arg: Buffer | bigint | null, what: string): number {
  const r = c_ioctl_ptr(fd, req, arg) as number;
  if (r < 0) throw new SysError(what, koffi.errno());
  return r;
}

/** ioctl with an integer argument; returns the (non-negative) result or throws. */
export function ioctlInt(fd: number, req: number, arg: number | bigint, what: string): number {
  const r = c_ioctl_int(fd, req, arg) as number;
  if (r < 0) throw new SysError(what, koffi.errno());
  return r;
}

/** The raw call for hot paths: returns the result, errno is read only when it is negative. */
export const rawIoctlInt = c_ioctl_int as (fd: number, req: number, arg: number) => number;

export interface Mapping {
  /** The host virtual address of the mapping. */
  address: bigint;
  /** An ArrayBuffer over the mapping itself: no copies. Valid until unmap. */
  buffer: ArrayBuffer;
  length: number;
  /** The opaque koffi pointer, needed to unmap. */
  pointer: unknown;
}

export function mmap(length: number, prot: number, flags: number, fd: number, what: string): Mapping {
  const p = c_mmap(null, length, prot, flags, fd, 0);
  const address = p === null ? 0n : BigInt(koffi.address(p));
  if (address === 0n || address === 0xffffffffffffffffn) throw new SysError(what, koffi.errno());
  return { address, buffer: koffi.view(p, length), length, pointer: p };
}

/** Views an existing mapping (made by another thread) by its address. */
export function viewAt(address: bigint, length: number): ArrayBuffer {
  return koffi.view(address, length);
}

export function munmap(m: Mapping): void {
  c_munmap(m.pointer, m.length);
}

export function gettid(): number {
  return Number(c_syscall0(SYS_gettid));
}

export function getpid(): number {
  return c_getpid() as number;
}

/** Sends `signal` to one thread of process `pid`. */
export function tgkill(pid: number, tid: number, signal: number): number {
  return Number(c_syscall3(SYS_tgkill, pid, tid, signal));
}

/** A non-blocking eventfd: a 64-bit counter the kernel (KVM) or another thread adds to. */
export function eventfd(what: string): number {
  const fd = c_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) as number;
  if (fd < 0) throw new SysError(`eventfd (${what})`, koffi.errno());
  return fd;
}

const counterBuf = Buffer.alloc(8);

/** Adds `n` to an eventfd's counter (wakes its readers). */
export function signalEventfd(fd: number, n = 1n): void {
  counterBuf.writeBigUInt64LE(n);
  c_write(fd, counterBuf, 8);
}

/** Takes an eventfd's counter (how many signals since the last read), 0 when none. */
export function drainEventfd(fd: number): bigint {
  const r = Number(c_read(fd, counterBuf, 8));
  return r === 8 ? counterBuf.readBigUInt64LE() : 0n;
}

/** pread into `buf` at `offset`; returns the bytes read or throws. */
export function pread(fd: number, buf: Buffer, offset: number, what: string): number {
  const r = Number(c_pread(fd, buf, buf.length, offset));
  if (r < 0) throw new SysError(what, koffi.errno());
  return r;
}

/**
 * poll() for readability over a fixed set of fds, its pollfd array made once: the device thread
 * polls in a loop (without sleeping while busy), so nothing is allocated per call.
 */
export class FdPoller {
  private readonly pollfds: Buffer;
  /** After wait(): whether fd i is readable (or has an error condition). */
  readonly ready: boolean[];

  constructor(private readonly fds: readonly number[]) {
    this.pollfds = Buffer.alloc(8 * fds.length);
    fds.forEach((fd, i) => {
      this.pollfds.writeInt32LE(fd, i * 8);
      this.pollfds.writeInt16LE(POLLIN, i * 8 + 4);
    });
    this.ready = fds.map(() => false);
  }

  /** Waits up to `timeoutMs` (0: just looks); returns whether any fd is ready. EINTR counts as none. */
  wait(timeoutMs: number): boolean {
    for (let i = 0; i < this.fds.length; i++) this.pollfds.writeInt16LE(0, i * 8 + 6);
    const r = c_poll(this.pollfds, this.fds.length, timeoutMs) as number;
    for (let i = 0; i < this.fds.length; i++) this.ready[i] = r > 0 && this.pollfds.readInt16LE(i * 8 + 6) !== 0;
    return r > 0;
  }
}
