// An independent reference for the seed's guest: QEMU's own POWER8 (qemu-system-ppc64 -M pseries
// -cpu power8_v2.0, PVR 0x004d0200 as the seed sets it) runs the same big-endian build, placed as
// its firmware so that it starts at 0x100 as the seed's guest does, one instruction per block with
// its CPU state logged at the seed's addresses (-d cpu -dfilter). Its registers at the first address
// after the program must be ours. pseries starts firmware in 32-bit mode with r3 = the device tree:
// only what the seed's three instructions write is compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, guest, runJson } from '../helpers/cli';
import { findOnPath } from '../../debug-adapter/toolchain/tools';
import { ppc64ToolsProblem } from '../helpers/ppc64-tools';
import type { Ppc64RunResult } from '../../debug-adapter/ppc64/ppc64-cli';

const QEMU = findOnPath('qemu-system-ppc64');
const problem = QEMU === undefined ? 'qemu-system-ppc64 is not on PATH (install qemu-system-ppc)' : ppc64ToolsProblem('big');

describe('ppc64: QEMU as an independent reference', function () {
  this.timeout(60000);
  const title = "QEMU's POWER8 runs the seed's guest to the same R16, R17, R18 as ours (8, 4, 32)";
  if (problem) it(`${title} [pending: ${problem}]`);
  else
    it(title, function () {
      const b = cli(['build', guest('ppc64', 'seed.s'), '--endian', 'big']);
      assert.equal(b.status, 0, b.stderr);
      const elf = b.stdout.trim();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-qemu-'));
      try {
        const flat = path.join(dir, 'seed.flat');
        const objcopy = findOnPath('powerpc64-linux-gnu-objcopy')!;
        assert.equal(spawnSync(objcopy, ['-O', 'binary', elf, flat]).status, 0);
        // The firmware image is loaded at 0 and entered at 0x100: the code goes at 0x100.
        const bios = path.join(dir, 'seed.bios');
        fs.writeFileSync(bios, Buffer.concat([Buffer.alloc(0x100), fs.readFileSync(flat)]));
        const log = path.join(dir, 'cpu.log');
        // It never stops by itself (after the program: a Program interrupt at 0x700, again and again):
        // the log of the seed's addresses is complete long before the timeout.
        spawnSync(QEMU!, [
          '-M', 'pseries', '-cpu', 'power8_v2.0', '-accel', 'tcg', '-singlestep', '-nographic', '-monitor', 'none', '-serial', 'none',
          '-bios', bios, '-d', 'cpu', '-dfilter', '0x100..0x10f', '-D', log,
        ], { timeout: 3000, stdio: 'ignore' });
        const text = fs.readFileSync(log, 'utf8');
        assert.match(text, /PVR 00000000004d0200/, 'QEMU ran the seed\'s POWER8');
        const at = text.split(/^(?=NIP )/m).find((s) => s.startsWith('NIP 000000000000010c'));
        assert.ok(at, `QEMU reached 0x10c:\n${text.slice(0, 2000)}`);
        const gpr16 = /^GPR16 ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16})/m.exec(at!)!;
        const qemu = gpr16.slice(1, 4).map((v) => BigInt(`0x${v}`));
        assert.deepEqual(qemu, [8n, 4n, 32n]);

        const ours = runJson([guest('ppc64', 'seed.s'), '--endian', 'big']).json as unknown as Ppc64RunResult;
        assert.deepEqual(['r16', 'r17', 'r18'].map((r) => BigInt(ours.registers[r])), qemu);
        assert.equal(ours.stop?.pc, '0x10c');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
});
