// Which architecture a guest is for (toolchain/arch.ts, ppc64/ppc64-guest.ts chooseArch): every x86
// example guest and New Guest template stays x86, the seed's code.s as written is ppc64, and the
// markers, flags and ELF headers say what they say.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archOfElf, detectArchFromSource, detectEndianFromSource } from '../../debug-adapter/toolchain/arch';
import { chooseArch } from '../../debug-adapter/ppc64/ppc64-guest';
import { guest, ROOT } from '../helpers/cli';

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'build' || e.name === 'ppc64' ? [] : sourcesUnder(p);
    return /\.(S|s|c)$/.test(e.name) ? [p] : [];
  });
}

describe('ppc64: the architecture of a guest', function () {
  it('every x86 example guest and template is x86', function () {
    const files = sourcesUnder(path.join(ROOT, 'guests'));
    assert.ok(files.length >= 8, files.join(', '));
    for (const f of files) assert.equal(chooseArch(f).arch, 'x86', f);
  });

  it('the seed\'s code.s as written is ppc64 by its instructions; big-endian unless it says otherwise', function () {
    const c = chooseArch(guest('ppc64', 'seed.s'));
    assert.deepEqual([c.arch, c.endian, c.via], ['ppc64', undefined, "the source's POWER instructions"]);
  });

  it('markers and flags: kvm-guest: arch=ppc64 / ppc64le, endian=little, -mlittle, -mpower8', function () {
    assert.deepEqual(detectArchFromSource('# kvm-guest: arch=ppc64\n'), { arch: 'ppc64', endian: undefined, via: 'the source\'s "kvm-guest: arch=ppc64" comment' });
    assert.equal(detectArchFromSource('# kvm-guest: arch=ppc64le\n')?.endian, 'little');
    assert.equal(detectArchFromSource('# kvm-guest: arch=ppc64 endian=little\n')?.endian, 'little');
    assert.equal(detectArchFromSource('# as -mlittle -mpower8 code.s\n    nop\n')?.endian, 'little');
    assert.equal(detectArchFromSource('# built with -mpower8\n    nop\n')?.arch, 'ppc64');
    assert.equal(detectEndianFromSource('# as -mbig -mpower8\n'), 'big');
    assert.equal(detectArchFromSource('# kvm-guest: arch=x86\n    li 3,1\n')?.arch, 'x86');
  });

  it('POWER-looking lines in C or with x86 registers are not POWER code', function () {
    assert.equal(detectArchFromSource('int b;\nvoid f(void) {\n b = 1;\n}\n', false), undefined);
    assert.equal(detectArchFromSource('    neg %eax\n    hlt\n'), undefined);
    assert.equal(detectArchFromSource('.code64\n    li 3,1\n'), undefined);
  });

  it('an ELF says its machine and byte order', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-arch-'));
    try {
      const elf = (machine: number, little: boolean): Uint8Array => {
        const b = new Uint8Array(64);
        b.set([0x7f, 0x45, 0x4c, 0x46, 2, little ? 1 : 2, 1]);
        if (little) b[18] = machine;
        else b[19] = machine;
        return b;
      };
      assert.deepEqual(archOfElf(elf(21, false)), { arch: 'ppc64', endian: 'big' });
      assert.deepEqual(archOfElf(elf(21, true)), { arch: 'ppc64', endian: 'little' });
      assert.deepEqual(archOfElf(elf(62, true)), { arch: 'x86', endian: 'little' });
      assert.equal(archOfElf(elf(40, true)), undefined);
      const f = path.join(dir, 'guest.elf');
      fs.writeFileSync(f, elf(21, true));
      assert.deepEqual(chooseArch(f), { arch: 'ppc64', endian: 'little', via: "the ELF's machine (PowerPC 64, little-endian)" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
