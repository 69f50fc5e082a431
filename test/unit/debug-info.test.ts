// Line tables and symbols of real guests, checked against GNU objdump, nm and readelf: no mocks.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildGuest, BuildResult, CpuMode, findPackageRoot, formatDiagnostic, linkerScriptFor } from '../../debug-adapter/toolchain';
import { debugInfoFromBytes, DebugInfo, loadDebugInfo } from '../../debug-adapter/program/debug-info';
import { LineRow, parseDebugLine, parseLinePrograms } from '../../debug-adapter/program/dwarf-lines';
import { readSections, sectionData, SHF_COMPRESSED } from '../../debug-adapter/program/elf-sections';
import { readSymbols } from '../../debug-adapter/program/elf-symbols';
import { ImageError } from '../../debug-adapter/program/guest-image';
import { LineMap } from '../../debug-adapter/program/line-map';
import { SymbolTable } from '../../debug-adapter/program/symbol-table';

const ROOT = findPackageRoot();
const GUESTS = path.join(ROOT, 'guests');

// ---- the GNU tools' view, to compare with ----

function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });
}

interface ObjdumpRow { name: string; dirPath: string; line: number | undefined; address: number; isStmt: boolean }

/** `objdump --dwarf=decodedline --wide`: rows with the raw file name and the path in the last file heading. */
function objdumpRows(elf: string): ObjdumpRow[] {
  const rows: ObjdumpRow[] = [];
  let heading = '';
  for (const text of run('objdump', ['--dwarf=decodedline', '--wide', elf]).split('\n')) {
    const line = text.trimEnd();
    if (line === '' || line.includes('file format') || line.startsWith('Contents of') || line.startsWith('File name')) continue;
    // A file heading; objdump marks a DWARF 2–4 file in directory 0 with "[++]".
    const h = /^(?:CU: )?(.*):(?:\[\+\+\])?$/.exec(line);
    if (h) {
      heading = h[1];
      continue;
    }
    const m = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+|0)(?:\s+(\d+))?(?:\s+(x))?$/.exec(line);
    assert.ok(m, `unexpected objdump line: ${JSON.stringify(line)}`);
    rows.push({ name: m[1], dirPath: heading, line: m[2] === '-' ? undefined : Number(m[2]), address: Number(m[3]), isStmt: m[5] === 'x' });
  }
  return rows;
}

/** Our rows equal objdump's, one for one: address, line (or end of sequence), is_stmt and file. */
function assertRowsMatchObjdump(rows: readonly LineRow[], elf: string, bias = 0): void {
  const theirs = objdumpRows(elf);
  assert.ok(theirs.length > 0, `objdump shows no rows for ${elf}`);
  assert.equal(rows.length, theirs.length, `row count of ${elf}`);
  rows.forEach((ours, i) => {
    const t = theirs[i];
    const where = `${path.basename(elf)} row ${i} (${JSON.stringify(t)})`;
    assert.equal(ours.address, t.address + bias, where);
    assert.equal(ours.endSequence, t.line === undefined, where);
    if (t.line !== undefined) {
      assert.equal(ours.line, t.line, where);
      assert.equal(ours.isStmt, t.isStmt, where);
    }
    assert.ok(path.posix.isAbsolute(ours.file) && path.posix.normalize(ours.file) === ours.file, `${where}: ${ours.file} is absolute and normalized`);
    assert.ok(ours.file.endsWith('/' + t.name), `${where}: ${ours.file} is ${t.name}`);
    // objdump's heading names the current file with its directory when it knows it.
    if (!ours.endSequence && t.dirPath !== '') {
      if (path.posix.isAbsolute(t.dirPath)) assert.equal(ours.file, t.dirPath, where);
      else assert.ok(ours.file.endsWith('/' + path.posix.normalize(t.dirPath)), `${where}: ${ours.file} ends with ${t.dirPath}`);
    }
  });
}

/** `nm` addresses by name (all symbols but debugging ones). */
function nmSymbols(elf: string): Map<string, { address: number; type: string }> {
  const out = new Map<string, { address: number; type: string }>();
  for (const line of run('nm', [elf]).split('\n')) {
    const m = /^([0-9a-f]+) (\S) (\S+)$/.exec(line.trim());
    if (m) out.set(m[3], { address: parseInt(m[1], 16), type: m[2] });
  }
  return out;
}

/** `readelf -sW`: name → type, bind, size, ndx. */
function readelfSymbols(elf: string): Map<string, { type: string; bind: string; size: number; ndx: string }> {
  const out = new Map<string, { type: string; bind: string; size: number; ndx: string }>();
  for (const line of run('readelf', ['-sW', elf]).split('\n')) {
    const m = /^\s*\d+:\s+[0-9a-f]+\s+(\d+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)$/.exec(line);
    if (m) out.set(m[5], { size: Number(m[1]), type: m[2], bind: m[3], ndx: m[4] });
  }
  return out;
}

/** `objdump -d`, as 16-bit code for real-mode guests (buildGuest names them *.real.elf). */
function disassembly(elf: string, extra: string[] = []): string[] {
  return run('objdump', ['-d', '--wide', ...(/\.real\.elf$/.test(elf) ? ['-m', 'i8086'] : []), ...extra, elf]).split('\n');
}

/** Addresses of the instructions in `objdump -d` (all executable sections, or from `from` to `to`). */
function instructionStarts(elf: string, from?: number, to?: number): number[] {
  const range = from === undefined ? [] : [`--start-address=${from}`, ...(to === undefined ? [] : [`--stop-address=${to}`])];
  const out: number[] = [];
  for (const line of disassembly(elf, range)) {
    const m = /^\s*([0-9a-f]+):\t[0-9a-f]{2}/.exec(line);
    if (m) out.push(parseInt(m[1], 16));
  }
  return out;
}

/**
 * Whether each address starts an instruction, disassembling from the first address of each
 * cluster: a whole-section disassembly loses the instruction stream after data or padding.
 */
function assertInstructionStarts(elf: string, addresses: readonly number[]): void {
  const sorted = [...new Set(addresses)].sort((a, b) => a - b);
  const starts = new Set<number>();
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] - sorted[j] < 64) j++;
    for (const a of instructionStarts(elf, sorted[i], sorted[j] + 16)) starts.add(a);
    i = j + 1;
  }
  for (const a of sorted) assert.ok(starts.has(a), `${path.basename(elf)}: 0x${a.toString(16)} starts an instruction`);
}

/** First instruction whose mnemonic starts with `mnemonic` in `objdump -d`. */
function firstInstruction(elf: string, mnemonic: string): number {
  for (const line of disassembly(elf)) {
    const m = /^\s*([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(\S+)/.exec(line);
    if (m && m[2].startsWith(mnemonic)) return parseInt(m[1], 16);
  }
  assert.fail(`no ${mnemonic} in ${elf}`);
}

/** 1-based number of the first source line matching `re`. */
function lineOf(file: string, re: RegExp): number {
  const i = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => re.test(l));
  assert.ok(i >= 0, `${re} is not in ${file}`);
  return i + 1;
}

function expectOk(r: BuildResult): asserts r is Extract<BuildResult, { ok: true }> {
  if (!r.ok) assert.fail(`build failed: ${r.message}\n${r.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`);
}

function expectImageError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected an ImageError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

function section(bytes: Uint8Array, name: string, file: string): { offset: number; size: number; index: number } {
  const s = readSections(bytes, file).find((x) => x.name === name);
  assert.ok(s, `no ${name} in ${file}`);
  return s;
}

const EXAMPLES: Array<{ source: string; mode: CpuMode }> = [
  { source: 'linux-journal/kernel1.S', mode: 'real' },
  { source: 'linux-journal/kernel2.S', mode: 'real' },
  { source: 'linux-journal/kernel3.S', mode: 'real' },
  { source: 'hello-world/hello16.s', mode: 'real' },
  { source: 'hello-world/hello.c', mode: 'protected' },
  { source: 'hello-world/hello.c', mode: 'long' },
  { source: 'long-mode-playground/playground.S', mode: 'long' },
  { source: 'protected-elf/protected.S', mode: 'protected' },
];

describe('debug info (ELF sections, symbols, DWARF lines)', function () {
  this.timeout(120000);
  let tmpRoot: string;
  const elfs = new Map<string, string>(); // "source:mode" → ELF path
  const elfOf = (source: string, mode: CpuMode): string => {
    const elf = elfs.get(`${source}:${mode}`);
    assert.ok(elf, `${source} (${mode}) was not built`);
    return elf;
  };
  const src = (source: string): string => path.join(GUESTS, source);

  before(async () => {
    // The real path: compilers record the real working directory.
    tmpRoot = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-guest-debug-info-test-')));
    for (const { source, mode } of EXAMPLES) {
      const r = await buildGuest({ source: src(source), mode, outDir: path.join(tmpRoot, 'examples') });
      expectOk(r);
      elfs.set(`${source}:${mode}`, r.elf);
    }
  });
  after(() => {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  });

  describe('every example guest', () => {
    for (const { source, mode } of EXAMPLES) {
      it(`${source} (${mode}): rows equal objdump's decoded line table, symbols equal nm and readelf`, () => {
        const elf = elfOf(source, mode);
        const bytes = fs.readFileSync(elf);
        const debugLine = sectionData(bytes, '.debug_line', elf);
        assert.ok(debugLine);
        const rows = parseDebugLine(
          { debugLine, debugLineStr: sectionData(bytes, '.debug_line_str', elf), debugStr: sectionData(bytes, '.debug_str', elf) },
          { path: elf },
        );
        assertRowsMatchObjdump(rows, elf);
        const info = loadDebugInfo(elf);
        assert.equal(info.elfClass, mode === 'long' ? 64 : 32);
        assert.ok(info.lines.files().includes(src(source)), `${info.lines.files().join(', ')} has ${src(source)}`);

        const nm = nmSymbols(elf);
        const re = readelfSymbols(elf);
        const ours = info.symbols.all();
        assert.deepEqual(ours.map((s) => s.name).sort(), [...nm.keys()].sort(), 'the same names as nm');
        for (const s of ours) {
          assert.equal(s.value, nm.get(s.name)?.address, `${s.name}'s address`);
          const r = re.get(s.name);
          assert.ok(r);
          assert.equal(s.kind, r.type.toLowerCase(), `${s.name}'s type`);
          assert.equal(s.binding, r.bind.toLowerCase(), `${s.name}'s binding`);
          assert.equal(s.size, r.size, `${s.name}'s size`);
          assert.equal(r.ndx === 'ABS' ? 0xfff1 : Number(r.ndx), s.sectionIndex, `${s.name}'s section`);
          assert.equal(info.symbols.lookup(s.name), s);
        }
        // Every row's address is where objdump -d starts an instruction.
        assertInstructionStarts(elf, info.lines.boundaries());
      });
    }
  });

  describe('kernel2.S (real mode, linked at 0)', () => {
    const KERNEL2 = 'linux-journal/kernel2.S';

    it('puts a breakpoint on the first outb at its address, and locates it back', () => {
      const elf = elfOf(KERNEL2, 'real');
      const { lines } = loadDebugInfo(elf);
      const line = lineOf(src(KERNEL2), /^\s*outb\b/);
      const address = firstInstruction(elf, 'out');
      assert.equal(address, 2);
      assert.deepEqual(lines.resolveBreakpoint(src(KERNEL2), line), { file: src(KERNEL2), line, addresses: [address] });
      assert.deepEqual(lines.locate(address), { file: src(KERNEL2), line, column: 0 });
      assert.deepEqual(lines.locate(address + 1), { file: src(KERNEL2), line, column: 0 });
      assert.deepEqual(lines.lineRange(address + 1), { start: address, end: address + 2 });
    });

    it('moves a breakpoint on a comment, a blank line or a directive to the next line with code', () => {
      const { lines } = loadDebugInfo(elfOf(KERNEL2, 'real'));
      const file = src(KERNEL2);
      const firstCode = lineOf(file, /^\s*mov\b/);
      assert.deepEqual(lines.resolveBreakpoint(file, 2), { file, line: firstCode, addresses: [0] }); // in the header comment
      const hlt = lineOf(file, /^\s*hlt\b/);
      const ljmp = lineOf(file, /^\s*ljmp\b/);
      assert.deepEqual(lines.resolveBreakpoint(file, hlt - 1), { file, line: hlt, addresses: [0x18] }); // blank line
      assert.deepEqual(lines.resolveBreakpoint(file, ljmp - 1), { file, line: ljmp, addresses: [0xfff0] }); // `. = 0xfff0`
    });

    it('gives a reason for a line after the last instruction, and for a file not in the program', () => {
      const { lines } = loadDebugInfo(elfOf(KERNEL2, 'real'));
      const after = lineOf(src(KERNEL2), /^\s*ljmp\b/) + 1;
      assert.deepEqual(lines.resolveBreakpoint(src(KERNEL2), after), { reason: `no code at line ${after} of kernel2.S (and none after it)` });
      assert.deepEqual(lines.resolveBreakpoint(src('linux-journal/kernel1.S'), 10), { reason: 'kernel1.S is not part of this program' });
      assert.deepEqual(lines.resolveBreakpoint('/nowhere/other.S', 10), { reason: 'other.S is not part of this program' });
      // A row covers everything up to the next row: the padding after hlt belongs to the hlt line.
      assert.equal(lines.locate(0x18 + 1)?.line, lineOf(src(KERNEL2), /^\s*hlt\b/));
      assert.equal(lines.locate(0xfff5), undefined, 'the end of a sequence is not in it');
      assert.equal(lines.lineRange(0xfff5), undefined);
    });

    it('matches a file opened through a symlink by its base name; case matters', () => {
      const { lines } = loadDebugInfo(elfOf(KERNEL2, 'real'));
      const dir = fs.mkdtempSync(path.join(tmpRoot, 'link-'));
      fs.symlinkSync(path.join(GUESTS, 'linux-journal'), path.join(dir, 'journal'));
      const linked = path.join(dir, 'journal', 'kernel2.S');
      const line = lineOf(linked, /^\s*outb\b/);
      assert.deepEqual(lines.resolveBreakpoint(linked, line), { file: src(KERNEL2), line, addresses: [2] });
      assert.deepEqual(lines.resolveBreakpoint(path.join(dir, 'journal', 'sub', '..', 'kernel2.S'), line), { file: src(KERNEL2), line, addresses: [2] });
      assert.deepEqual(lines.resolveBreakpoint(path.join(dir, 'KERNEL2.S'), line), { reason: 'KERNEL2.S is not part of this program' });
    });

    it('adds the bias to every address of lines and symbols (real mode loaded at 0xF0000)', () => {
      const elf = elfOf(KERNEL2, 'real');
      const plain = loadDebugInfo(elf);
      const biased = loadDebugInfo(elf, { bias: 0xf0000 });
      assert.deepEqual(biased.lines.boundaries(), plain.lines.boundaries().map((a) => a + 0xf0000));
      assert.equal(biased.lines.boundaries()[0], 0xf0000);
      const line = lineOf(src(KERNEL2), /^\s*outb\b/);
      assert.deepEqual(biased.lines.resolveBreakpoint(src(KERNEL2), line), { file: src(KERNEL2), line, addresses: [0xf0002] });
      assert.equal(biased.lines.locate(0xf0002)?.line, line);
      assert.equal(biased.lines.locate(2), undefined);
      assert.deepEqual(biased.lines.lineRange(0xffff0 + 3), { start: 0xffff0, end: 0xffff5 });
      assert.equal(biased.symbols.lookup('start')?.value, 0xf0000);
      assert.deepEqual(biased.symbols.at(0xffff0), { symbol: biased.symbols.lookup('_start'), offset: 0xfff0 });
      const rows = parseDebugLine({ debugLine: sectionData(fs.readFileSync(elf), '.debug_line', elf)!, debugLineStr: sectionData(fs.readFileSync(elf), '.debug_line_str', elf) }, { path: elf });
      assertRowsMatchObjdump(rows.map((r) => ({ ...r, address: r.address + 0xf0000 })), elf, 0xf0000);
    });

    it('prefers the global symbol at an address, and keeps local labels', () => {
      const { symbols } = loadDebugInfo(elfOf(KERNEL2, 'real'));
      assert.equal(symbols.at(0)?.symbol.name, '_start');
      assert.deepEqual(symbols.lookup('start'), { name: 'start', value: 0, size: 0, kind: 'notype', binding: 'local', sectionIndex: 1 });
      assert.equal(symbols.at(0x12)?.offset, 0x12);
    });
  });

  describe('other guests', () => {
    it('hello16.s: absolute symbols are constants, not moved by the bias nor used for addresses', () => {
      const elf = elfOf('hello-world/hello16.s', 'real');
      const { symbols } = loadDebugInfo(elf, { bias: 0x7c00 });
      assert.equal(symbols.lookup('KVM_GUEST_BITS')?.value, 16);
      assert.equal(symbols.lookup('KVM_GUEST_BITS')?.sectionIndex, 0xfff1);
      const greeting = nmSymbols(elf).get('greeting')!.address;
      assert.deepEqual(symbols.at(0x7c00 + greeting + 2), { symbol: symbols.lookup('greeting'), offset: 2 });
      assert.equal(symbols.at(0x7c00 + 0x10)?.symbol.name, '_start'); // not KVM_GUEST_BITS (= 0x10)
      assert.equal(symbols.at(0x7bff), undefined);
    });

    it('playground.S: a label line moves to its first instruction, which is the label address', () => {
      const source = src('long-mode-playground/playground.S');
      const elf = elfOf('long-mode-playground/playground.S', 'long');
      const { lines, symbols } = loadDebugInfo(elf);
      const nm = nmSymbols(elf);
      for (const label of ['serial_putc', 'serial_puts', 'serial_put_hex32']) {
        const labelLine = lineOf(source, new RegExp(`^${label}:`));
        const r = lines.resolveBreakpoint(source, labelLine);
        assert.ok('addresses' in r, JSON.stringify(r));
        assert.ok(r.line > labelLine);
        assert.deepEqual(r.addresses, [nm.get(label)!.address], label);
        assert.deepEqual(symbols.at(r.addresses[0] + 1), { symbol: symbols.lookup(label), offset: 1 });
        assert.deepEqual(lines.locate(r.addresses[0]), { file: source, line: r.line, column: 0 });
      }
    });

    it('hello.c (long): sized functions end at their size; rows of the inlined header are found', () => {
      const elf = elfOf('hello-world/hello.c', 'long');
      const { lines, symbols } = loadDebugInfo(elf);
      const start = symbols.lookup('_start');
      assert.ok(start && start.kind === 'func' && start.binding === 'global' && start.size > 0);
      assert.equal(start.value, 0x100000);
      assert.equal(symbols.at(start.value + start.size - 1)?.symbol, start);
      assert.equal(symbols.at(start.value + start.size), undefined, 'past the end of a sized function');
      assert.deepEqual(lines.files(), [src('hello-world/hello.c'), path.join(GUESTS, 'include', 'kvm-guest.h')].sort());
      const hlt = firstInstruction(elf, 'hlt');
      const at = lines.locate(hlt);
      assert.equal(at?.file, src('hello-world/hello.c'));
      assert.equal(at?.line, lineOf(src('hello-world/hello.c'), /__asm__ volatile\("hlt"/));
    });
  });

  describe('C line ranges', () => {
    it('lineRange covers every instruction of a multi-instruction C line', async () => {
      const dir = fs.mkdtempSync(path.join(tmpRoot, 'multi-'));
      const source = path.join(dir, 'multi.c');
      fs.writeFileSync(
        source,
        [
          '// kvm-guest: mode=long',
          'volatile int a, b, c;',
          '',
          'void __attribute__((noreturn, section(".start"))) _start(void)',
          '{',
          '    a = b * 3 + c * 5;',
          '',
          '    for (;;)',
          '        __asm__ volatile("hlt");',
          '}',
          '',
        ].join('\n'),
      );
      const r = await buildGuest({ source, mode: 'long', outDir: path.join(dir, 'build') });
      expectOk(r);
      const { lines } = loadDebugInfo(r.elf);
      // Expected from objdump: the rows of line 6 and the first row after them.
      const theirs = objdumpRows(r.elf);
      const first = theirs.findIndex((t) => t.line === 6);
      let next = first;
      while (theirs[next].line === 6) next++;
      const want = { start: theirs[first].address, end: theirs[next].address };
      const inside = instructionStarts(r.elf).filter((a) => a >= want.start && a < want.end);
      assert.ok(inside.length >= 4, `line 6 has ${inside.length} instructions`);
      for (const a of [...inside, want.end - 1]) {
        assert.deepEqual(lines.lineRange(a), want, a.toString(16));
        assert.equal(lines.locate(a)?.line, 6);
      }
      assert.deepEqual(lines.resolveBreakpoint(source, 6), { file: source, line: 6, addresses: [want.start] });
      assert.deepEqual(lines.resolveBreakpoint(source, 7), { file: source, line: 8, addresses: [firstInstruction(r.elf, 'hlt')] });
      assertRowsMatchObjdump(parseDebugLine({ debugLine: sectionData(fs.readFileSync(r.elf), '.debug_line', r.elf)!, debugLineStr: sectionData(fs.readFileSync(r.elf), '.debug_line_str', r.elf) }, { path: r.elf }), r.elf);
    });
  });

  describe('DWARF versions built by hand (gcc -gdwarf-N, as --gdwarf-N, ld)', () => {
    // Sources compiled under a relative name, the ELF in another folder: DWARF 2–4 file entries
    // with directory 0 then only resolve through DW_AT_comp_dir in .debug_info.
    const cFlags = ['-O2', '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-fno-builtin', '-nostdlib', '-mgeneral-regs-only'];

    const buildC = (version: number, extra: string[] = []): { elf: string; source: string; rows: LineRow[]; versions: number[]; info: DebugInfo } => {
      const dir = fs.mkdtempSync(path.join(tmpRoot, `c-dwarf${version}-`));
      const source = path.join(dir, 'src', 'hello.c');
      fs.mkdirSync(path.dirname(source));
      fs.copyFileSync(src('hello-world/hello.c'), source);
      run('gcc', ['-c', `-gdwarf-${version}`, ...extra, ...cFlags, '-m64', '-mno-red-zone', '-I', path.join(GUESTS, 'include'), '-o', 'hello.o', 'hello.c'], path.dirname(source));
      const elf = path.join(dir, 'out', 'hello.elf');
      fs.mkdirSync(path.dirname(elf));
      run('ld', ['-m', 'elf_x86_64', '-T', linkerScriptFor('long'), '-nostdlib', '--build-id=none', '-z', 'noexecstack', '-o', elf, path.join(path.dirname(source), 'hello.o')]);
      const bytes = fs.readFileSync(elf);
      const sections = { debugLine: sectionData(bytes, '.debug_line', elf)!, debugLineStr: sectionData(bytes, '.debug_line_str', elf), debugStr: sectionData(bytes, '.debug_str', elf) };
      const info = loadDebugInfo(elf);
      const versions = parseLinePrograms(sections, { path: elf }).map((p) => p.version);
      // The rows as the debugger sees them (with the comp dir from .debug_info).
      const rows = parseDebugLine(sections, {
        path: elf,
        compDir: () => path.dirname(source),
      });
      return { elf, source, rows, versions, info };
    };

    it('a DWARF 4 and a DWARF 5 table of the same C source parse to objdump\'s rows, and to the same rows', () => {
      const v4 = buildC(4);
      const v5 = buildC(5);
      assert.deepEqual(v4.versions, [4]);
      assert.deepEqual(v5.versions, [5]);
      assertRowsMatchObjdump(v4.rows, v4.elf);
      assertRowsMatchObjdump(v5.rows, v5.elf);
      const strip = (rows: readonly LineRow[], source: string): unknown[] => rows.map((r) => ({ ...r, file: r.file === source ? 'hello.c' : r.file }));
      assert.deepEqual(strip(v4.rows, v4.source), strip(v5.rows, v5.source));
      // loadDebugInfo finds the source through DW_AT_comp_dir, though the ELF is elsewhere.
      assert.ok(v4.info.lines.files().includes(v4.source), v4.info.lines.files().join(', '));
      assert.ok(v5.info.lines.files().includes(v5.source), v5.info.lines.files().join(', '));
      const line = lineOf(v4.source, /\*\(volatile long \*\)0x400 = 42/);
      const want = v5.info.lines.resolveBreakpoint(v5.source, line);
      assert.ok('addresses' in want && want.addresses.length === 1);
      assert.deepEqual(v4.info.lines.resolveBreakpoint(v4.source, line), { ...want, file: v4.source });
    });

    it('reads DW_AT_comp_dir from 64-bit DWARF .debug_info (gcc -gdwarf64)', () => {
      const v4 = buildC(4, ['-gdwarf64']);
      assert.match(run('readelf', ['--debug-dump=info', v4.elf]), /\(64-bit\)/);
      assertRowsMatchObjdump(v4.rows, v4.elf);
      assert.ok(v4.info.lines.files().includes(v4.source), v4.info.lines.files().join(', '));
    });

    for (const version of [2, 3, 4, 5]) {
      it(`as --gdwarf-${version}: rows equal objdump's`, () => {
        const dir = fs.mkdtempSync(path.join(tmpRoot, `as-dwarf${version}-`));
        fs.copyFileSync(src('hello-world/hello16.s'), path.join(dir, 'hello16.s'));
        run('as', ['--32', `--gdwarf-${version}`, '-o', 'hello16.o', 'hello16.s'], dir);
        const elf = path.join(dir, 'out', 'hello16.elf');
        fs.mkdirSync(path.dirname(elf));
        run('ld', ['-m', 'elf_i386', '-T', linkerScriptFor('real'), '-nostdlib', '--build-id=none', '-z', 'noexecstack', '-o', elf, path.join(dir, 'hello16.o')]);
        const bytes = fs.readFileSync(elf);
        const sections = { debugLine: sectionData(bytes, '.debug_line', elf)!, debugLineStr: sectionData(bytes, '.debug_line_str', elf), debugStr: sectionData(bytes, '.debug_str', elf) };
        // gas writes version 3 tables for --gdwarf-2.
        assert.deepEqual(parseLinePrograms(sections, { path: elf }).map((p) => p.version), [Math.max(version, 3)]);
        const { lines } = loadDebugInfo(elf);
        assert.deepEqual(lines.files(), [path.join(dir, 'hello16.s')]);
        const rows = parseDebugLine(sections, { path: elf, compDir: () => dir });
        assertRowsMatchObjdump(rows, elf);
        const built = loadDebugInfo(elfOf('hello-world/hello16.s', 'real'));
        assert.deepEqual(lines.boundaries(), built.lines.boundaries());
      });
    }

    it('reads zlib-compressed debug sections', () => {
      const elf = elfOf('long-mode-playground/playground.S', 'long');
      const packed = path.join(tmpRoot, 'playground.zlib.elf');
      run('objcopy', ['--compress-debug-sections=zlib', elf, packed]);
      const bytes = fs.readFileSync(packed);
      assert.ok(readSections(bytes, packed).some((s) => s.name === '.debug_line' && (s.flags & SHF_COMPRESSED) !== 0));
      const a = loadDebugInfo(elf);
      const b = loadDebugInfo(packed);
      assert.deepEqual(b.lines.boundaries(), a.lines.boundaries());
      assert.deepEqual(b.lines.files(), a.lines.files());
    });
  });

  describe('section headers', () => {
    it('reads names, types, flags and addresses as readelf does (ELF32 and ELF64)', () => {
      for (const elf of [elfOf('linux-journal/kernel3.S', 'real'), elfOf('hello-world/hello.c', 'long')]) {
        const ours = readSections(fs.readFileSync(elf), elf);
        const theirs = run('readelf', ['-SW', elf])
          .split('\n')
          .map((l) => /^\s*\[\s*(\d+)\]\s+(\S*)\s+([A-Z][A-Z0-9_]*)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null);
        assert.equal(ours.length, theirs.length);
        for (const m of theirs) {
          const s = ours[Number(m[1])];
          assert.equal(s.name, m[2]);
          assert.equal(s.addr, parseInt(m[4], 16), s.name);
          assert.equal(s.offset, parseInt(m[5], 16), s.name);
          assert.equal(s.size, parseInt(m[6], 16), s.name);
          assert.equal(s.entsize, parseInt(m[7], 16), s.name);
        }
        assert.equal(sectionData(fs.readFileSync(elf), '.no-such-section', elf), undefined);
      }
    });

    it('an ELF without .debug_line gives an empty line map and still has symbols', () => {
      const elf = elfOf('hello-world/hello.c', 'protected');
      const stripped = path.join(tmpRoot, 'hello.nodebug.elf');
      run('objcopy', ['--strip-debug', elf, stripped]);
      const info = loadDebugInfo(stripped);
      assert.deepEqual(info.lines.files(), []);
      assert.deepEqual(info.lines.boundaries(), []);
      assert.equal(info.lines.locate(0x100000), undefined);
      assert.deepEqual(info.lines.resolveBreakpoint(src('hello-world/hello.c'), 14), { reason: 'hello.c is not part of this program' });
      assert.equal(info.symbols.lookup('_start')?.value, 0x100000);
      const bare = path.join(tmpRoot, 'hello.bare.elf');
      run('objcopy', ['--strip-all', elf, bare]);
      assert.deepEqual(loadDebugInfo(bare).symbols.all(), []);
    });
  });

  describe('broken files', () => {
    it('a truncated .debug_line gives an ImageError naming the file', () => {
      const elf = elfOf('linux-journal/kernel2.S', 'real');
      const bytes = Buffer.from(fs.readFileSync(elf));
      const dl = section(bytes, '.debug_line', elf);
      // Shrink the section (sh_size of ELF32 section header): the unit now runs past its end.
      const shoff = bytes.readUInt32LE(32);
      bytes.writeUInt32LE(dl.size - 10, shoff + dl.index * 40 + 20);
      expectImageError(() => debugInfoFromBytes(bytes, '/x/kernel2.elf'), /^\/x\/kernel2\.elf: \.debug_line unit at 0x0: truncated/);
      // Cut inside the header, with a unit length that agrees.
      const whole = sectionData(fs.readFileSync(elf), '.debug_line', elf)!;
      for (const cut of [3, 6, 12, 20, 30, 45]) {
        const part = Buffer.from(whole.subarray(0, cut));
        if (cut >= 4) part.writeUInt32LE(cut - 4, 0);
        expectImageError(() => parseDebugLine({ debugLine: part, debugLineStr: sectionData(fs.readFileSync(elf), '.debug_line_str', elf) }, { path: 'k.elf' }), /^k\.elf: \.debug_line unit at 0x0: (truncated|malformed)/);
      }
      // A second unit cut short after a whole first one: the message gives its offset.
      const two = Buffer.concat([whole, whole.subarray(0, 9)]);
      expectImageError(
        () => parseDebugLine({ debugLine: two, debugLineStr: sectionData(fs.readFileSync(elf), '.debug_line_str', elf) }, { path: 'k.elf' }),
        new RegExp(`^k\\.elf: \\.debug_line unit at 0x${whole.length.toString(16)}: truncated`),
      );
    });

    it('a malformed unit gives an ImageError with the file and offset; zero padding after the units is fine', () => {
      const elf = elfOf('linux-journal/kernel2.S', 'real');
      const bytes = fs.readFileSync(elf);
      const whole = Buffer.from(sectionData(bytes, '.debug_line', elf)!);
      const debugLineStr = sectionData(bytes, '.debug_line_str', elf);
      const bad = Buffer.from(whole);
      bad.writeUInt16LE(9, 4);
      expectImageError(() => parseDebugLine({ debugLine: bad, debugLineStr }, { path: 'k.elf' }), /^k\.elf: \.debug_line unit at 0x0: malformed at 0x4: unsupported \.debug_line version 9/);
      expectImageError(() => parseDebugLine({ debugLine: whole }, { path: 'k.elf' }), /no \.debug_line_str section/);
      const reserved = Buffer.from(whole);
      reserved.writeUInt32LE(0xfffffff3, 0);
      expectImageError(() => parseDebugLine({ debugLine: reserved, debugLineStr }, { path: 'k.elf' }), /reserved unit length/);
      const padded = Buffer.concat([whole, Buffer.alloc(7)]);
      assert.deepEqual(parseDebugLine({ debugLine: padded, debugLineStr }, { path: 'k.elf' }), parseDebugLine({ debugLine: whole, debugLineStr }, { path: 'k.elf' }));
    });

    it('a missing file or a non-ELF file gives an ImageError', () => {
      expectImageError(() => loadDebugInfo(path.join(tmpRoot, 'no-such.elf')), /cannot read .*no-such\.elf/);
      const flat = elfs.get('linux-journal/kernel2.S:real')!.replace(/\.elf$/, '.bin');
      expectImageError(() => loadDebugInfo(flat), /kernel2\.real\.bin: not an ELF file/);
      const elf = elfOf('hello-world/hello.c', 'long');
      const cut = path.join(tmpRoot, 'hello.cut.elf');
      fs.writeFileSync(cut, fs.readFileSync(elf).subarray(0, 0x200));
      expectImageError(() => loadDebugInfo(cut), /hello\.cut\.elf: truncated ELF: .*section header/);
    });
  });

  describe('hand-made tables (forms the GNU tools do not emit)', () => {
    // Byte builders for synthetic units.
    const uleb = (v: number): number[] => {
      const out: number[] = [];
      do {
        let b = v & 0x7f;
        v = Math.floor(v / 128);
        if (v !== 0) b |= 0x80;
        out.push(b);
      } while (v !== 0);
      return out;
    };
    const sleb = (v: number): number[] => {
      const out: number[] = [];
      for (;;) {
        const b = v & 0x7f;
        v = Math.floor(v / 128);
        if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return [...out, b];
        out.push(b | 0x80);
      }
    };
    const u16 = (v: number): number[] => [v & 0xff, v >> 8];
    const u32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
    const u64 = (v: number): number[] => [...u32(v), ...u32(Math.floor(v / 2 ** 32))];
    const str = (s: string): number[] => [...Buffer.from(s + '\0')];

    it('DWARF 2 with 64-bit DWARF lengths, define_file, const_add_pc, fixed_advance_pc and an 8-byte address', () => {
      const header = [
        1, // minimum_instruction_length
        1, // default_is_stmt
        0xfb, // line_base -5
        14, // line_range
        10, // opcode_base (DWARF 2: opcodes 1-9)
        0, 1, 1, 1, 1, 0, 0, 0, 1,
        ...str('inc'), ...str('/abs/dir'), 0,
        ...str('a.s'), ...uleb(0), 0, 0,
        ...str('b.h'), ...uleb(1), 0, 0,
        ...str('c.h'), ...uleb(2), 0, 0,
        0,
      ];
      const program = [
        0, 9, 2, ...u64(0x200000), // set_address (8 bytes)
        3, ...sleb(9), 1, // line 10, copy
        10, // special opcode 10 = opcode_base: line += -5, address += 0 → line 5... then
        8, // const_add_pc: (255-10)/14 = 17
        9, ...u16(0x100), // fixed_advance_pc
        4, 2, 1, // file 2 (b.h), copy
        0, 8, 3, ...str('d.c'), 1, 0, 0, // define_file d.c in dir 1
        4, 4, 6, 1, // file 4, negate_stmt, copy
        0, 2, 4, 5, // set_discriminator 5
        0, 3, 0x80, 1, 2, // an unknown extended opcode (0x80) with 2 bytes of operands
        2, 3, // advance_pc 3
        0, 1, 1, // end_sequence
      ];
      const afterLength = [...u16(2), ...u64(header.length), ...header, ...program];
      const unit = [...u32(0xffffffff), ...u64(afterLength.length), ...afterLength];
      const progs = parseLinePrograms({ debugLine: Uint8Array.from(unit) }, { path: 'synthetic', compDir: () => '/work/comp' });
      assert.equal(progs.length, 1);
      assert.equal(progs[0].version, 2);
      assert.deepEqual(progs[0].files, ['', '/work/comp/a.s', '/work/comp/inc/b.h', '/abs/dir/c.h', '/work/comp/inc/d.c']);
      const rows = progs[0].rows.map((r) => [r.address, r.file.replace('/work/comp/', ''), r.line, r.isStmt, r.endSequence]);
      assert.deepEqual(rows, [
        [0x200000, 'a.s', 10, true, false],
        [0x200000, 'a.s', 5, true, false],
        [0x200000 + 17 + 0x100, 'inc/b.h', 5, true, false],
        [0x200000 + 17 + 0x100, 'inc/d.c', 5, false, false],
        [0x200000 + 17 + 0x100 + 3, 'inc/d.c', 5, false, true],
      ]);
      // Without a comp dir, relative names are taken from baseDir.
      const loose = parseDebugLine({ debugLine: Uint8Array.from(unit) }, { path: 'synthetic', baseDir: '/elf/dir' });
      assert.equal(loose[0].file, '/elf/dir/a.s');
    });

    it('DWARF 5 entry formats: strp, udata, data1/2/16 (MD5), block, and a tombstoned sequence', () => {
      const debugStr = Buffer.from('\0/comp\0src\0x.c\0');
      const header = [
        1, 1, 1, 0xfb, 14, 13, // min_inst, max_ops, default_is_stmt, line_base, line_range, opcode_base
        0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1,
        1, 1, 0x0e, // directory format: path/strp
        2, ...u32(1), ...u32(7), // directories: /comp, src
        4, 1, 0x08, 2, 0x0f, 5, 0x1e, 0x2001, 0x09, // path/string, dir/udata, MD5/data16, vendor/block
        // the vendor content type 0x2001 is a two-byte ULEB
      ];
      // fix the ULEB of 0x2001 above
      const fmt = header.indexOf(0x2001);
      header.splice(fmt, 1, ...uleb(0x2001));
      header.push(
        3,
        ...str('x.c'), ...uleb(1), ...new Array(16).fill(0xaa), 2, 9, 9,
        ...str('/abs/y.h'), ...uleb(0), ...new Array(16).fill(0), 0,
        ...str('z.h'), ...uleb(0), ...new Array(16).fill(0), 0,
      );
      const program = [
        0, 5, 2, ...u32(0xffffffff), // tombstone: discarded code
        1, 0, 1, 1,
        0, 5, 2, ...u32(0x1000),
        4, 0, 5, 7, 1, // file 0, column 7, copy
        4, 2, 34, // file 2, special: address +1, line +2
        2, 1, 0, 1, 1,
      ];
      const afterLength = [...u16(5), 4, 0, ...u32(header.length), ...header, ...program];
      const unit = [...u32(afterLength.length), ...afterLength];
      const rows = parseDebugLine({ debugLine: Uint8Array.from(unit), debugStr }, { path: 'synthetic' });
      assert.deepEqual(rows, [
        { address: 0x1000, file: '/comp/src/x.c', line: 1, column: 7, isStmt: true, endSequence: false },
        { address: 0x1001, file: '/comp/z.h', line: 3, column: 7, isStmt: true, endSequence: false },
        { address: 0x1002, file: '/comp/z.h', line: 3, column: 7, isStmt: true, endSequence: true },
      ]);
      // A row naming a file the table does not have is malformed.
      const badProgram = [0, 5, 2, ...u32(0x1000), 4, 9, 1];
      const bad = [...u16(5), 4, 0, ...u32(header.length), ...header, ...badProgram];
      expectImageError(
        () => parseDebugLine({ debugLine: Uint8Array.from([...u32(bad.length), ...bad]), debugStr }, { path: 'synthetic' }),
        /^synthetic: \.debug_line unit at 0x0: malformed at 0x[0-9a-f]+: a row refers to file 9/,
      );
    });

    it('LineMap: unterminated sequences are ignored, sequences may come in any order, moved breakpoints stay in the file', () => {
      const row = (address: number, line: number, extra: Partial<LineRow> = {}): LineRow => ({ address, file: '/p/a.S', line, column: 0, isStmt: true, endSequence: false, ...extra });
      const map = new LineMap([
        row(0x200, 30), row(0x204, 31), row(0x208, 31, { isStmt: false }), row(0x20c, 32), row(0x210, 32, { endSequence: true }),
        row(0x100, 10), row(0x102, 12, { file: '/p/b.h' }), row(0x106, 11), row(0x108, 10), row(0x10a, 10, { endSequence: true }),
        row(0x300, 50), // no end_sequence
      ]);
      assert.deepEqual(map.files(), ['/p/a.S', '/p/b.h']);
      assert.deepEqual(map.boundaries(), [0x100, 0x102, 0x106, 0x108, 0x200, 0x204, 0x208, 0x20c]);
      assert.deepEqual(map.locate(0x103), { file: '/p/b.h', line: 12, column: 0 });
      assert.equal(map.locate(0x10a), undefined);
      assert.equal(map.locate(0x300), undefined);
      assert.deepEqual(map.lineRange(0x205), { start: 0x204, end: 0x20c });
      assert.deepEqual(map.lineRange(0x20d), { start: 0x20c, end: 0x210 });
      assert.deepEqual(map.resolveBreakpoint('/p/a.S', 10), { file: '/p/a.S', line: 10, addresses: [0x100] });
      assert.deepEqual(map.resolveBreakpoint('/p/a.S', 12), { file: '/p/a.S', line: 30, addresses: [0x200] }); // line 12 is b.h's
      assert.deepEqual(map.resolveBreakpoint('a.S', 33), { reason: 'no code at line 33 of a.S (and none after it)' });
      // One address per function when the caller says where functions are.
      const grouped = new LineMap([row(0x100, 5), row(0x104, 6), row(0x108, 5), row(0x10c, 5, { endSequence: true })], { groupOf: (a) => (a < 0x108 ? 1 : 2) });
      assert.deepEqual(grouped.resolveBreakpoint('/p/a.S', 5), { file: '/p/a.S', line: 5, addresses: [0x100, 0x108] });
      const same = new LineMap([row(0x100, 5), row(0x104, 6), row(0x108, 5), row(0x10c, 5, { endSequence: true })]);
      assert.deepEqual(same.resolveBreakpoint('/p/a.S', 5), { file: '/p/a.S', line: 5, addresses: [0x100] });
      // Two files with one base name: only the full path decides.
      const two = new LineMap([row(0x100, 1), row(0x104, 1, { file: '/q/a.S' }), row(0x108, 1, { endSequence: true })]);
      assert.match((two.resolveBreakpoint('/elsewhere/a.S', 1) as { reason: string }).reason, /a\.S matches several files/);
      assert.deepEqual(two.resolveBreakpoint('/q/a.S', 1), { file: '/q/a.S', line: 1, addresses: [0x104] });
    });

    it('SymbolTable: sized symbols end, labels reach the next symbol, globals win ties', () => {
      const sym = (name: string, value: number, size = 0, binding: 'local' | 'global' | 'weak' = 'local', kind: 'func' | 'notype' | 'object' = 'notype') =>
        ({ name, value, size, kind, binding, sectionIndex: 1 });
      const t = new SymbolTable([sym('loop', 0x10), sym('main', 0x10, 0, 'global'), sym('f', 0x40, 8, 'global', 'func'), sym('data', 0x80, 4, 'weak', 'object'), { ...sym('K', 0x44), sectionIndex: 0xfff1 }]);
      assert.equal(t.at(0x0f), undefined);
      assert.deepEqual(t.at(0x12), { symbol: t.lookup('main'), offset: 2 });
      assert.deepEqual(t.at(0x3f), { symbol: t.lookup('main'), offset: 0x2f });
      assert.deepEqual(t.at(0x44), { symbol: t.lookup('f'), offset: 4 });
      assert.equal(t.at(0x48), undefined);
      assert.deepEqual(t.at(0x83), { symbol: t.lookup('data'), offset: 3 });
      assert.equal(t.lookup('K')?.value, 0x44);
      assert.equal(t.all().length, 5);
      assert.deepEqual(readSymbols(fs.readFileSync(elfOf('linux-journal/kernel3.S', 'real')), 'k3', { all: true }).filter((s) => s.kind === 'file').map((s) => s.name), ['kernel3.real.o']);
    });
  });
});
