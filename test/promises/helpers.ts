// Shared by the README-promise tests: DAP sessions on the real adapter process (the DAP suite's
// Session, test/helpers/dap-session.ts), the real toolchain's view of a built guest (objdump, nm) for
// expected addresses, and temp sources.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/cli';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

import { Session } from '../helpers/dap-session';
export { ADAPTER, lineOf, Session } from '../helpers/dap-session';

/** A fresh temp folder holding `files`; returns its path. */
export function tempGuests(prefix: string, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `promises-${prefix}-`));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** `kvm-guest build FILE [--mode M]`: the ELF path (the first line it prints). */
export function buildElf(file: string, mode?: string): string {
  const r = cli(['build', file, ...(mode ? ['--mode', mode] : [])]);
  assert.equal(r.status, 0, r.stderr);
  const elf = r.stdout.trim().split('\n')[0];
  assert.ok(fs.existsSync(elf), `kvm-guest build printed ${elf}`);
  return elf;
}

/** GNU objdump's disassembly of an ELF: [address, mnemonic text] in order. */
export function objdump(elf: string): { address: number; text: string }[] {
  const out: { address: number; text: string }[] = [];
  for (const line of execFileSync('objdump', ['-d', '--no-show-raw-insn', elf], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).split('\n')) {
    const m = /^\s+([0-9a-f]+):\s+(.*)$/.exec(line);
    if (m) out.push({ address: parseInt(m[1], 16), text: m[2].trim() });
  }
  return out;
}

/** GNU nm's value of a symbol. */
export function nmValue(elf: string, name: string): number {
  for (const line of execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n')) {
    const [v, , n] = line.trim().split(/\s+/);
    if (n === name) return parseInt(v, 16);
  }
  throw new Error(`no symbol ${name} in ${elf}`);
}

/** Sessions opened by a suite, ended after each test. */
export function sessions(accel: AcceleratorName | undefined): (opts?: { cwd?: string }) => Promise<Session> {
  const open: Session[] = [];
  afterEach(async function () {
    for (const x of open.splice(0)) await x.end();
  });
  return async (opts = {}) => {
    const x = await new Session(accel, opts).start();
    open.push(x);
    return x;
  };
}
