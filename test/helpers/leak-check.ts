// Mocha root-hook plugin (.mocharc.json "require"): nothing a test run starts may outlive it.
// - Temp files: the run gets a private temp folder (TMPDIR, inherited by every process the tests
//   start: kvm-guest, the adapter, the language server, gcc, code-server…; os.tmpdir() in-process
//   too). The product names its folders kvm-guest-tools-*, kvm-guest-probe-*, kvm-guest-lsp-*;
//   when this process exits (after the product's own exit hooks, which remove the folders of its
//   in-process parts), whatever is left there — the product's or a test's — is listed and fails the
//   run (exit status 1).
// - Processes: after the last test, every process that is still a descendant of this one, or that
//   carries this run's TMPDIR in its environment (a child that escaped to PID 1: cc1 after its gcc
//   was killed, for example), is listed, killed and fails the run.
// - Handles: mocha runs without `exit: true`, so the run must end by itself. If the process is still
//   alive 15 s after the last test, the handles keeping it alive are printed and it exits with 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SYSTEM_TMP = os.tmpdir();
/** This run's temp folder; removed after the run. */
export const RUN_TMP = fs.mkdtempSync(path.join(SYSTEM_TMP, 'kvm-guest-test-run-'));
process.env.TMPDIR = RUN_TMP;

/** The product's own temp folder names (debug-adapter/toolchain, language/diagnostics). */
const PRODUCT_TEMP = /^kvm-guest-(tools|probe|lsp)-/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readProc(pid: string, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Processes of this run other than this one: pid → command line. */
export function processesOfThisRun(): Map<number, string> {
  const parent = new Map<number, number>();
  const ours = new Map<number, string>();
  const marker = `TMPDIR=${RUN_TMP}\0`;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readProc(e, 'stat');
    if (!stat) continue;
    // pid (comm) state ppid …: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue; // a zombie is gone, only not yet reaped
    parent.set(Number(e), Number(fields[1]));
    if (Number(e) !== process.pid && readProc(e, 'environ')?.includes(marker)) ours.set(Number(e), '');
  }
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        ours.set(pid, '');
        break;
      }
    }
  }
  for (const pid of ours.keys()) ours.set(pid, (readProc(String(pid), 'cmdline') ?? '').split('\0').join(' ').trim().slice(0, 200));
  return ours;
}

/** What keeps this process alive, as far as Node tells. */
function describeHandles(): string {
  const lines: string[] = [];
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const h of handles) {
    const o = h as { constructor?: { name?: string }; pid?: number; spawnfile?: string; spawnargs?: string[]; fd?: number; remoteAddress?: string; remotePort?: number; address?: () => unknown; _type?: string };
    const name = o.constructor?.name ?? typeof h;
    if (name === 'ChildProcess') lines.push(`child process ${o.pid}: ${o.spawnargs?.join(' ') ?? o.spawnfile}`);
    else if (name === 'Socket' && (o.fd === 0 || o.fd === 1 || o.fd === 2)) continue; // stdio
    else if (name === 'Socket') lines.push(`socket${o.remoteAddress ? ` to ${o.remoteAddress}:${o.remotePort}` : ''}${o.fd !== undefined ? ` fd ${o.fd}` : ''}`);
    else if (name === 'Server') lines.push(`server ${JSON.stringify(o.address?.())}`);
    else lines.push(name);
  }
  lines.push(`resources: ${process.getActiveResourcesInfo().join(', ')}`);
  return lines.join('\n  ');
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30000);
    const problems: string[] = [];
    // Processes ended by the last test may take a moment to go.
    let procs = processesOfThisRun();
    for (let waited = 0; procs.size > 0 && waited < 5000; waited += 100) {
      await sleep(100);
      procs = processesOfThisRun();
    }
    if (procs.size > 0) {
      problems.push(`${procs.size} process(es) outlived the tests:\n  ${[...procs].map(([pid, cmd]) => `${pid} ${cmd}`).join('\n  ')}`);
      for (const pid of procs.keys()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    }
    // Registered now, so that it runs after the exit hooks the product and the tests installed.
    process.once('exit', () => {
      const left = fs.readdirSync(RUN_TMP);
      if (left.length > 0) {
        const product = left.filter((n) => PRODUCT_TEMP.test(n));
        const listing = spawnSync('ls', ['-la', RUN_TMP], { encoding: 'utf8' }).stdout;
        console.error(
          `\nleak check: ${left.length} temp file(s) or folder(s) left at exit (${product.length} named as the product names its own: ${product.join(', ') || 'none'}):\n  ` +
            left.join('\n  ') + `\n${listing}`,
        );
        fs.rmSync(RUN_TMP, { recursive: true, force: true });
        // mocha's own exit listener (added after this one) would set the status to its failure
        // count: end here with 1 (the product's and the tests' exit hooks ran before this one).
        process.exit(1);
      }
      fs.rmSync(RUN_TMP, { recursive: true, force: true });
    });
    // Still alive well after the last test: say why, and end.
    setTimeout(() => {
      console.error(`\nleak check: the test process is still alive 15 s after the last test. Handles keeping it alive:\n  ${describeHandles()}`);
      process.exit(process.exitCode || 1);
    }, 15000).unref();
    if (problems.length > 0) throw new Error(`leak check:\n${problems.join('\n')}`);
  },
};
