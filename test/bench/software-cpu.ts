// Software-CPU (Unicorn) benchmark parts that need no Machine: the guest image, the C reference on the
// same Unicorn library, the QEMU TCG reference, and whole-process CPU time of a command.
//
// The guest is one 64 KiB real-mode image that all three run unchanged:
//   offset 0x0000  mov $N, %ecx            66 B9 imm32
//   offset 0x0006  1: out %al, $0x80       E6 80        one port-I/O exit per iteration
//   offset 0x0008  dec %ecx                66 49
//   offset 0x000A  jnz 1b                  75 FA
//   offset 0x000C  mov $0, %al; out %al, $0xf4          B0 00 E6 F4   (QEMU's isa-debug-exit)
//   offset 0x0010  hlt; jmp .-1            F4 EB FD
//   offset 0xFFF0  ljmp $0xf000, $0        EA 00 00 00 F0   the reset vector
// Our monitor loads a flat real-mode image at 0xF0000 and starts at F000:FFF0 (guest-layout.ts, as
// kernel2.S); QEMU maps the last 64 KiB of a `-bios` file at 0xF0000 and its last 16 bytes at the reset
// vector 0xFFFFFFF0, whose far jump then lands at F000:0000 = 0xF0000: the same bytes at the same
// addresses.
//
// Port 0x80 is the POST-code port in both: our monitor's PostCodePort keeps the value; QEMU's pc machine
// always has its `ioport80` device (writes ignored; present with -nodefaults, see `info mtree`). No
// extra QEMU device is added at 0x80: `isa-debugcon` there needs a chardev and costs QEMU a chardev write
// per OUT, which is not what our port does (the bench reports that variant's CPU time in the detail).
// Port 0xF4 ends QEMU (QEMU does not stop at HLT): `isa-debug-exit` exits with status (0 << 1) | 1 = 1.
// In our monitor 0xF4 is unmapped: one dropped write, reported once (in `run --json`'s "unmapped" list,
// not on stderr), and the guest goes on to HLT. One extra exit out of N + 1; the exit count is checked.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const RESET_LOAD_ADDRESS = 0xf0000;
export const POST_PORT = 0x80;
export const DEBUG_EXIT_PORT = 0xf4;
export const IMAGE_SIZE = 0x10000;

/** The 64 KiB real-mode image above: `n` OUTs to port 0x80, one OUT to 0xF4, HLT. */
export function realModeOutLoopImage(n: number): Buffer {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new RangeError(`loop count ${n}`);
  const b = Buffer.alloc(IMAGE_SIZE, 0xf4); // hlt everywhere else: a stray jump stops the guest
  b.set([0x66, 0xb9], 0);
  b.writeUInt32LE(n, 2);
  b.set([0xe6, POST_PORT, 0x66, 0x49, 0x75, 0xfa], 6);
  b.set([0xb0, 0x00, 0xe6, DEBUG_EXIT_PORT], 12);
  b.set([0xf4, 0xeb, 0xfd], 16);
  b.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0);
  return b;
}

export interface Tools {
  dir: string;
  referenceUnicorn: string;
  childRusage: string;
}

/** Compiles the C helpers into `dir`. Throws with gcc's message when one cannot be built. */
export function buildTools(root: string, dir: string): Tools {
  const src = path.join(root, 'test', 'bench');
  const gcc = (out: string, file: string, libs: string[]): string => {
    const r = spawnSync('gcc', ['-O2', '-o', out, path.join(src, file), ...libs], { encoding: 'utf8' });
    if (r.error) throw new Error(`gcc: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`gcc ${file}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
    return out;
  };
  return {
    dir,
    childRusage: gcc(path.join(dir, 'child-rusage'), 'child-rusage.c', []),
    referenceUnicorn: gcc(path.join(dir, 'reference-unicorn'), 'reference-unicorn.c', ['-lunicorn']),
  };
}

export interface ChildRun {
  status: number;
  signal: number;
  userUs: number;
  sysUs: number;
  wallUs: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
}

export const cpuUs = (r: { userUs: number; sysUs: number }): number => r.userUs + r.sysUs;

/** Runs a command under child-rusage: its whole-process CPU time (all threads) and wall time. */
export function runChild(tools: Tools, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildRun {
  const outFile = path.join(tools.dir, `rusage-${process.pid}.txt`);
  fs.rmSync(outFile, { force: true });
  const r: SpawnSyncReturns<string> = spawnSync(tools.childRusage, [outFile, command, ...args], {
    encoding: 'utf8',
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  let line: string;
  try {
    line = fs.readFileSync(outFile, 'utf8');
  } catch {
    throw new Error(`child-rusage wrote nothing for ${command}: ${r.stderr}`);
  }
  const m = /status=(-?\d+) signal=(\d+) user_us=(\d+) sys_us=(\d+) wall_us=(\d+) maxrss_kb=(\d+)/.exec(line);
  if (!m) throw new Error(`child-rusage printed: ${line}`);
  return {
    status: Number(m[1]),
    signal: Number(m[2]),
    userUs: Number(m[3]),
    sysUs: Number(m[4]),
    wallUs: Number(m[5]),
    maxRssKb: Number(m[6]),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

export interface ReferenceRun {
  exits: number;
  port80: number;
  /** CPU time of uc_emu_start alone. */
  userUs: number;
  sysUs: number;
  /** uc_open + mapping + register set-up. */
  setupUserUs: number;
}

/** The C program on the same Unicorn: its own getrusage around uc_emu_start, and its exit count. */
export function runUnicornReference(tools: Tools, imagePath: string, expectedOuts: number): ReferenceRun {
  const r = spawnSync(tools.referenceUnicorn, [imagePath], { encoding: 'utf8' });
  const m = /exits=(\d+) port80=(\d+) user_us=(\d+) sys_us=(\d+) setup_user_us=(\d+) ecx=(\d+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error(`reference-unicorn failed (${r.status}): ${r.stdout}${r.stderr}`);
  const run = { exits: Number(m[1]), port80: Number(m[2]), userUs: Number(m[3]), sysUs: Number(m[4]), setupUserUs: Number(m[5]) };
  if (run.port80 !== expectedOuts || run.exits !== expectedOuts + 1 || m[6] !== '0')
    throw new Error(`reference-unicorn ran the guest wrongly: ${r.stdout.trim()} (expected ${expectedOuts} OUTs to 0x80, one to 0xf4, ECX 0)`);
  return run;
}

/** qemu-system-x86_64 on PATH, or undefined. */
export function findQemu(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir || '.', 'qemu-system-x86_64');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export const QEMU_ARGS = (imagePath: string): string[] => [
  '-accel', 'tcg',
  '-bios', imagePath,
  '-device', `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=1`,
  '-display', 'none', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'none', '-monitor', 'none',
];

/** One QEMU TCG run of the image, whole-process CPU time; checks that the guest ended it through isa-debug-exit. */
export function runQemu(tools: Tools, qemu: string, imagePath: string, extraArgs: string[] = []): ChildRun {
  const r = runChild(tools, qemu, [...QEMU_ARGS(imagePath), ...extraArgs]);
  // isa-debug-exit: status (value << 1) | 1 with value 0. Anything else (a triple fault with
  // -no-reboot exits 0, a hang is killed) means the guest did not run to its end.
  if (r.status !== 1) throw new Error(`QEMU did not end through isa-debug-exit (status ${r.status}, signal ${r.signal}): ${r.stderr.trim()}`);
  return r;
}

/** Our whole CLI process on the image: `kvm-guest run IMAGE --mode real --accel tcg --json`. */
export function runOursProcess(tools: Tools, root: string, imagePath: string, expectedOuts: number): ChildRun & { exits: number } {
  const cli = path.join(root, 'bin', 'kvm-guest.js');
  const r = runChild(tools, process.execPath, [cli, 'run', imagePath, '--mode', 'real', '--accel', 'tcg', '--json']);
  let result: { outcome?: string; ports?: Record<string, { in: number; out: number }>; exits?: Record<string, number> };
  try {
    result = JSON.parse(r.stdout);
  } catch {
    throw new Error(`kvm-guest run --accel tcg printed no JSON (status ${r.status}): ${r.stdout}${r.stderr}`);
  }
  const outs = result.ports?.['0x80']?.out ?? 0;
  if (r.status !== 0 || result.outcome !== 'halted' || outs !== expectedOuts)
    throw new Error(`kvm-guest run --accel tcg: status ${r.status}, outcome ${result.outcome}, ${outs} OUTs to 0x80 (expected ${expectedOuts}): ${r.stderr.trim()}`);
  const exits = Object.values(result.exits ?? {}).reduce((a, b) => a + b, 0);
  return { ...r, exits };
}
