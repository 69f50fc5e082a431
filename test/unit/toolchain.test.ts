// The guest toolchain against the real GNU tools (as, ld, gcc, objcopy): no mocks.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildGuest,
  buildOutputPaths,
  BuildDiagnostic,
  BuildResult,
  checkGccMode,
  CPU_MODES,
  CpuMode,
  detectModeDetails,
  detectModeFromSource,
  findPackageRoot,
  formatDiagnostic,
  guestIncludeDir,
  LINKER_SCRIPT_NAMES,
  linkerScriptFor,
  modeBitness,
  parseCompilerOutput,
  parseLinkerOutput,
  parseAssemblerOutput,
  parseCpuMode,
  resolveTool,
  ToolchainError,
  toolVersions,
} from '../../debug-adapter/toolchain';

const ROOT = findPackageRoot();
const GUESTS = path.join(ROOT, 'guests');

// ---- a minimal ELF reader: enough to check what the VMM and the debugger rely on ----

interface ElfSection { name: string; type: number; addr: number; size: number; offset: number }
interface ElfSegment { type: number; flags: number; offset: number; vaddr: number; paddr: number; filesz: number; memsz: number; align: number }
interface Elf {
  bits: 32 | 64;
  machine: number;
  entry: number;
  sections: ElfSection[];
  segments: ElfSegment[];
  symbols: Map<string, number>;
  bytes: Buffer;
}

const EM_386 = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;

function readElf(file: string): Elf {
  const b = fs.readFileSync(file);
  assert.deepEqual([...b.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${file}: not an ELF file`);
  assert.equal(b[5], 1, 'little-endian');
  const bits = b[4] === 2 ? 64 : 32;
  const is64 = bits === 64;
  const word = (o: number): number => (is64 ? Number(b.readBigUInt64LE(o)) : b.readUInt32LE(o));
  const machine = b.readUInt16LE(18);
  const entry = word(24);
  const phoff = is64 ? word(32) : b.readUInt32LE(28);
  const shoff = is64 ? word(40) : b.readUInt32LE(32);
  const base = is64 ? 52 : 40; // e_phentsize offset - 2
  const phentsize = b.readUInt16LE(base + 2);
  const phnum = b.readUInt16LE(base + 4);
  const shentsize = b.readUInt16LE(base + 6);
  const shnum = b.readUInt16LE(base + 8);
  const shstrndx = b.readUInt16LE(base + 10);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    segments.push(
      is64
        ? { type: b.readUInt32LE(o), flags: b.readUInt32LE(o + 4), offset: word(o + 8), vaddr: word(o + 16), paddr: word(o + 24), filesz: word(o + 32), memsz: word(o + 40), align: word(o + 48) }
        : { type: b.readUInt32LE(o), offset: b.readUInt32LE(o + 4), vaddr: b.readUInt32LE(o + 8), paddr: b.readUInt32LE(o + 12), filesz: b.readUInt32LE(o + 16), memsz: b.readUInt32LE(o + 20), flags: b.readUInt32LE(o + 24), align: b.readUInt32LE(o + 28) },
    );
  }
  const raw: Array<ElfSection & { nameOff: number; link: number }> = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({
      nameOff: b.readUInt32LE(o),
      type: b.readUInt32LE(o + 4),
      addr: is64 ? word(o + 16) : b.readUInt32LE(o + 12),
      offset: is64 ? word(o + 24) : b.readUInt32LE(o + 16),
      size: is64 ? word(o + 32) : b.readUInt32LE(o + 20),
      link: b.readUInt32LE(is64 ? o + 40 : o + 24),
      name: '',
    });
  }
  const cstr = (off: number): string => b.toString('latin1', off, b.indexOf(0, off));
  const shstr = raw[shstrndx];
  for (const s of raw) s.name = cstr(shstr.offset + s.nameOff);
  const symbols = new Map<string, number>();
  for (const s of raw.filter((x) => x.type === SHT_SYMTAB)) {
    const strtab = raw[s.link];
    const size = is64 ? 24 : 16;
    for (let o = s.offset; o < s.offset + s.size; o += size) {
      const name = cstr(strtab.offset + b.readUInt32LE(o));
      const value = is64 ? Number(b.readBigUInt64LE(o + 8)) : b.readUInt32LE(o + 4);
      if (name) symbols.set(name, value);
    }
  }
  const sections = raw.map(({ name, type, addr, size, offset }) => ({ name, type, addr, size, offset }));
  return { bits, machine, entry, sections, segments, symbols, bytes: b };
}

function sectionBytes(elf: Elf, name: string): Buffer {
  const s = elf.sections.find((x) => x.name === name);
  assert.ok(s, `no section ${name}`);
  return elf.bytes.subarray(s.offset, s.offset + s.size);
}

// ---- helpers ----

let tmpRoot: string;
function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}
function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}
function expectOk(r: BuildResult): asserts r is Extract<BuildResult, { ok: true }> {
  if (!r.ok) assert.fail(`build failed: ${r.message}\n${r.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`);
}
function expectFail(r: BuildResult): asserts r is Extract<BuildResult, { ok: false }> {
  if (r.ok) assert.fail(`build unexpectedly succeeded: ${r.elf}`);
}
function errorsOf(r: BuildResult): BuildDiagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'error');
}

describe('toolchain', function () {
  this.timeout(60000);

  before(() => {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-guest-toolchain-test-'));
  });
  after(() => {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  });

  describe('modes', () => {
    it('lists the modes and their bitness', () => {
      assert.deepEqual([...CPU_MODES], ['real', 'protected', 'paged32', 'long']);
      assert.deepEqual(CPU_MODES.map(modeBitness), [16, 32, 32, 64]);
      assert.equal(parseCpuMode(' Long '), 'long');
      assert.throws(() => parseCpuMode('v86'), /real, protected, paged32, long/);
    });

    it('detects the mode of every example guest', () => {
      const expected: Array<[string, CpuMode | undefined]> = [
        ['linux-journal/kernel1.S', 'real'],
        ['linux-journal/kernel2.S', 'real'],
        ['linux-journal/kernel3.S', 'real'],
        ['hello-world/hello16.s', 'real'],
        ['hello-world/hello.c', undefined], // built for several modes: --mode decides
        ['long-mode-playground/playground.S', 'long'],
        ['protected-elf/protected.S', 'protected'],
      ];
      for (const [file, mode] of expected) {
        const abs = path.join(GUESTS, file);
        assert.equal(detectModeFromSource(fs.readFileSync(abs, 'utf8'), abs), mode, file);
      }
    });

    it('ignores directives in comments and strings, and the first directive wins', () => {
      assert.equal(detectModeFromSource('// .code16\n.code32\n'), 'protected');
      assert.equal(detectModeFromSource('/* .code64\n .code16 */\n  .code32\n'), 'protected');
      assert.equal(detectModeFromSource('# .code64 in a gas comment\n.code16\n', 'x.s'), 'real');
      assert.equal(detectModeFromSource('mov %ax, %bx  # .code64\n.code32\n', 'x.S'), 'protected');
      assert.equal(detectModeFromSource('msg: .ascii ".code64"\n.code16\n', 'x.s'), 'real');
      assert.equal(detectModeFromSource("movb $'#', %al\n.code64\n", 'x.s'), 'long');
      assert.equal(detectModeFromSource('.code32\n.code64\n.code16\n'), 'protected');
      assert.equal(detectModeFromSource('\t.code64\n\t.code32\n'), 'long');
      assert.equal(detectModeFromSource('.code16gcc\n'), 'real');
      assert.equal(detectModeFromSource('nop; .code64\n'), 'long');
      assert.equal(detectModeFromSource('.code32x\n.code_16\n'), undefined);
      assert.equal(detectModeFromSource('int main(void) { return 0; }\n', 'x.c'), undefined);
      assert.equal(detectModeFromSource(''), undefined);
    });

    it('honours the kvm-guest: mode= marker, over directives', () => {
      assert.equal(detectModeFromSource('// kvm-guest: mode=long\nvoid _start(void) {}\n', 'g.c'), 'long');
      assert.equal(detectModeFromSource('/* kvm-guest: mode=paged32 */\n', 'g.c'), 'paged32');
      assert.equal(detectModeFromSource('.code32\n# kvm-guest: mode=paged32\n', 'g.s'), 'paged32');
      assert.equal(detectModeFromSource('// kvm-guest: mode=bogus\n.code16\n'), 'real');
      const d = detectModeDetails('\n\n// kvm-guest:  mode = real\n');
      assert.deepEqual(d && { mode: d.mode, line: d.line, via: d.via }, { mode: 'real', line: 3, via: 'marker' });
    });

    it('in C, counts asm strings but not comments', () => {
      assert.equal(detectModeFromSource('// .code64\n__asm__(".code16gcc");\n', 'g.c'), 'real');
      assert.equal(detectModeFromSource('/* asm(".code64") */ int x;\n', 'g.c'), undefined);
      assert.equal(detectModeFromSource("char c = '\"'; asm(\".code32\");\n", 'g.c'), 'protected');
    });

    it('reports the line of the deciding directive', () => {
      const d = detectModeDetails('/* header\n .code64 */\n\n  .code16\n');
      assert.deepEqual(d, { mode: 'real', line: 4, via: 'directive', text: '.code16' });
    });
  });

  describe('package root and linker scripts', () => {
    it('finds the package root from any folder below it', () => {
      assert.ok(fs.existsSync(path.join(ROOT, 'package.json')));
      assert.equal(findPackageRoot(path.join(ROOT, 'guests', 'ld')), ROOT);
      assert.equal(findPackageRoot(path.join(ROOT, 'dist', 'no', 'such', 'dir')), ROOT);
      assert.throws(() => findPackageRoot(os.tmpdir()), /kvm-guest-studio/);
      assert.equal(guestIncludeDir(), path.join(ROOT, 'guests', 'include'));
      assert.ok(fs.existsSync(path.join(guestIncludeDir(), 'kvm-guest.h')));
    });

    it('has a script for every mode; paged32 shares the protected one', () => {
      for (const mode of CPU_MODES) {
        const script = linkerScriptFor(mode);
        assert.ok(path.isAbsolute(script));
        assert.ok(fs.existsSync(script), script);
        assert.match(fs.readFileSync(script, 'utf8'), /ENTRY\(_start\)/);
      }
      assert.equal(LINKER_SCRIPT_NAMES.paged32, LINKER_SCRIPT_NAMES.protected);
      assert.equal(path.basename(linkerScriptFor('real')), 'real16.ld');
      assert.equal(path.basename(linkerScriptFor('long')), 'long64.ld');
    });
  });

  describe('tools', () => {
    it('finds as, ld, gcc and objcopy and reports their versions', async () => {
      const versions = await toolVersions();
      assert.deepEqual(versions.map((v) => v.tool), ['as', 'ld', 'gcc', 'objcopy']);
      for (const v of versions) {
        assert.equal(v.problem, undefined, `${v.tool}: ${v.problem ?? ''}`);
        assert.ok(v.path && path.isAbsolute(v.path));
        assert.match(v.version ?? '', v.tool === 'gcc' ? /gcc/i : /GNU/);
      }
    });

    it('names the Debian package of a missing tool', async () => {
      assert.throws(
        () => resolveTool('ld', { ld: '/nonexistent/bin/ld' }),
        (e: unknown) => e instanceof ToolchainError && e.tool === 'ld' && e.debianPackage === 'binutils' && /binutils/.test(e.message) && /\/nonexistent\/bin\/ld/.test(e.message),
      );
      assert.throws(
        () => resolveTool('gcc', {}, { PATH: '/nonexistent' }),
        (e: unknown) => e instanceof ToolchainError && e.debianPackage === 'gcc' && /apt-get install gcc/.test(e.message),
      );
      const source = path.join(GUESTS, 'hello-world', 'hello.c');
      await assert.rejects(
        buildGuest({ source, mode: 'long', outDir: tmpDir('missing'), tools: { gcc: '/nonexistent/gcc' } }),
        (e: unknown) => e instanceof ToolchainError && e.tool === 'gcc' && /install the Debian package "gcc"/.test(e.message),
      );
      await assert.rejects(
        buildGuest({ source: path.join(GUESTS, 'hello-world', 'hello16.s'), mode: 'real', outDir: tmpDir('missing'), tools: { objcopy: 'no-such-objcopy-tool' } }),
        (e: unknown) => e instanceof ToolchainError && e.tool === 'objcopy' && /binutils/.test(e.message),
      );
    });

    it('says to install gcc-multilib when gcc cannot compile 32-bit freestanding C', async () => {
      // A stand-in gcc that fails the way a gcc without 32-bit support does.
      const dir = tmpDir('fake-gcc');
      const fake = write(dir, 'gcc', '#!/bin/sh\necho "/usr/include/stdint.h:26:10: fatal error: bits/libc-header-start.h: No such file or directory" >&2\nexit 1\n');
      fs.chmodSync(fake, 0o755);
      await assert.rejects(
        checkGccMode('protected', { gcc: fake }),
        (e: unknown) => e instanceof ToolchainError && e.debianPackage === 'gcc-multilib' && /gcc-multilib/.test(e.message),
      );
      await assert.rejects(
        buildGuest({ source: path.join(GUESTS, 'hello-world', 'hello.c'), mode: 'protected', outDir: tmpDir('multilib'), tools: { gcc: fake } }),
        (e: unknown) => e instanceof ToolchainError && e.problem === 'multilib',
      );
      await checkGccMode('real');
      await checkGccMode('protected');
      await checkGccMode('long');
    });
  });

  describe('example guests', () => {
    const outDir = (): string => tmpDir('examples');

    function checkLoadSegments(elf: Elf, base: number): void {
      const loads = elf.segments.filter((s) => s.type === PT_LOAD);
      assert.ok(loads.length >= 1);
      for (const s of loads) {
        assert.equal(s.vaddr, s.paddr, 'physical = virtual');
        assert.equal(s.vaddr % 0x1000, 0, 'page-aligned segment');
        assert.equal(s.align, 0x1000);
        assert.ok(s.vaddr >= base);
        assert.ok(s.filesz > 0 || s.memsz > 0, 'no empty PT_LOAD');
      }
      assert.equal(loads[0].vaddr, base);
      assert.ok(loads.every((s) => (s.flags & 7) !== 7), 'no RWX segment');
    }

    it('builds the Linux Journal kernels into flat images with the reset vector at 0xFFF0', async () => {
      const dir = outDir();
      for (const name of ['kernel1', 'kernel2', 'kernel3']) {
        const r = await buildGuest({ source: path.join(GUESTS, 'linux-journal', `${name}.S`), mode: 'real', outDir: dir });
        expectOk(r);
        assert.equal(r.elf, path.join(dir, `${name}.real.elf`));
        assert.equal(r.flat, path.join(dir, `${name}.real.bin`));
        // No missing-entry or RWX warning from ld; kernel3's listing has one harmless as warning.
        const warnings = r.diagnostics.map((d) => `${d.tool}:${d.line}:${d.message}`);
        assert.deepEqual(warnings, name === 'kernel3' ? ["as:12:segment override on 'lea' is ineffectual"] : []);

        const elf = readElf(r.elf);
        assert.equal(elf.bits, 32);
        assert.equal(elf.machine, EM_386);
        assert.equal(elf.entry, 0);
        assert.ok(elf.sections.some((s) => s.name === '.debug_line'), '.debug_line');

        const flat = fs.readFileSync(r.flat ?? '');
        assert.ok(flat.length >= 0xfff5, `flat image is 0x${flat.length.toString(16)} bytes`);
        assert.deepEqual([...flat.subarray(0xfff0, 0xfff5)], [0xea, 0x00, 0x00, 0x00, 0xf0], 'ljmp $0xf000,$start');
        if (name === 'kernel1') assert.deepEqual([...flat.subarray(0, 4)], [0x31, 0xc0, 0xeb, 0xfe]); // xor %ax,%ax; jmp .
        if (name === 'kernel2') {
          // mov $'H',%al; outb %al,$0xf1 ... then hlt
          assert.deepEqual([...flat.subarray(0, 4)], [0xb0, 0x48, 0xe6, 0xf1]);
          assert.equal(flat[6 * 4], 0xf4);
        }
        if (name === 'kernel3') {
          assert.ok(flat.includes(Buffer.from([0x2e, 0xf3, 0x6e])), 'cs rep outsb');
          assert.equal(flat.toString('latin1', 0x10, 0x1f), 'Hello, World!\n\0');
        }
      }
    });

    it('builds hello16.s: a small real-mode image that greets, stores 42 at 0x400 and halts', async () => {
      const r = await buildGuest({ source: path.join(GUESTS, 'hello-world', 'hello16.s'), mode: 'real', outDir: outDir() });
      expectOk(r);
      assert.deepEqual(r.diagnostics, []);
      assert.deepEqual(r.commands[0].slice(1, 4), ['-g', '--gdwarf-5', '--32']);
      const elf = readElf(r.elf);
      assert.equal(elf.bits, 32);
      assert.equal(elf.machine, EM_386);
      assert.equal(elf.symbols.get('_start'), 0);
      assert.equal(elf.entry, 0);
      assert.ok(elf.sections.some((s) => s.name === '.debug_line'));
      const flat = fs.readFileSync(r.flat ?? '');
      assert.ok(flat.length < 0x400, 'the image must not reach 0x400, where it stores 42');
      assert.ok(flat.includes(Buffer.from('Hello, world!\n\0', 'latin1')));
      assert.ok(flat.includes(Buffer.from([0xba, 0xe9, 0x00])), 'mov $0xe9,%dx');
      assert.ok(flat.includes(Buffer.from([0xb8, 0x2a, 0x00, 0xa3, 0x00, 0x04, 0xf4])), 'mov $42,%ax; mov %ax,0x400; hlt');
    });

    for (const mode of ['protected', 'paged32', 'long'] as const) {
      it(`builds hello.c for ${mode} mode`, async () => {
        const r = await buildGuest({ source: path.join(GUESTS, 'hello-world', 'hello.c'), mode, outDir: outDir() });
        expectOk(r);
        assert.deepEqual(r.diagnostics, []);
        assert.equal(r.flat, undefined);
        assert.equal(path.basename(r.elf), `hello.${mode}.elf`);
        const cc = r.commands[0];
        for (const flag of ['-c', '-g', '-O2', '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector', '-fno-builtin', '-nostdlib', '-mgeneral-regs-only']) {
          assert.ok(cc.includes(flag), flag);
        }
        assert.ok(cc.includes(mode === 'long' ? '-m64' : '-m32'));
        if (mode === 'long') assert.ok(cc.includes('-mno-red-zone') && cc.includes('-mcmodel=small'));
        assert.deepEqual(r.commands[1].slice(1, 3), ['-m', mode === 'long' ? 'elf_x86_64' : 'elf_i386']);

        const elf = readElf(r.elf);
        assert.equal(elf.bits, mode === 'long' ? 64 : 32);
        assert.equal(elf.machine, mode === 'long' ? EM_X86_64 : EM_386);
        assert.equal(elf.symbols.get('_start'), 0x100000);
        assert.equal(elf.entry, 0x100000);
        assert.ok(elf.sections.some((s) => s.name === '.debug_line'));
        assert.equal(elf.sections.find((s) => s.name === '.start')?.addr, 0x100000);
        assert.ok(elf.sections.every((s) => s.name !== '.comment' && s.name !== '.eh_frame'));
        assert.ok(sectionBytes(elf, '.rodata').includes(Buffer.from('Hello, world!\n\0', 'latin1')));
        // The store of 42 to 0x400: movl (32-bit long) or movq (64-bit long).
        const code = sectionBytes(elf, '.start');
        const store = mode === 'long' ? [0x48, 0xc7, 0x04, 0x25, 0x00, 0x04, 0x00, 0x00, 0x2a, 0, 0, 0] : [0xc7, 0x05, 0x00, 0x04, 0x00, 0x00, 0x2a, 0, 0, 0];
        assert.ok(code.includes(Buffer.from(store)), 'stores 42 at 0x400');
        assert.ok(code.includes(0xf4), 'hlt');
        checkLoadSegments(elf, 0x100000);
      });
    }

    it('builds the long-mode playground', async () => {
      const r = await buildGuest({ source: path.join(GUESTS, 'long-mode-playground', 'playground.S'), mode: 'long', outDir: outDir() });
      expectOk(r);
      assert.deepEqual(r.diagnostics, []);
      const elf = readElf(r.elf);
      assert.equal(elf.bits, 64);
      assert.equal(elf.machine, EM_X86_64);
      assert.equal(elf.entry, 0x100000);
      assert.equal(elf.symbols.get('_start'), 0x100000);
      assert.ok(elf.sections.some((s) => s.name === '.debug_line'));
      const code = sectionBytes(elf, '.start');
      assert.ok(code.includes(Buffer.from([0xbb, 0x00, 0x00, 0x00, 0xd0])), 'mov $0xd0000000,%ebx');
      const text = sectionBytes(elf, '.text');
      assert.ok(text.includes(Buffer.from([0x66, 0xba, 0xfd, 0x03])), 'mov $0x3fd,%dx (LSR)');
      assert.ok(text.includes(Buffer.from([0xa8, 0x20])), 'test $0x20,%al (THRE)');
      const rodata = sectionBytes(elf, '.rodata').toString('latin1');
      assert.match(rodata, /mmio read32 \[0xd0000000\] = 0x/);
      assert.match(rodata, /all ones: yes/);
      checkLoadSegments(elf, 0x100000);
    });

    for (const mode of ['protected', 'paged32'] as const) {
      it(`builds the protected-mode ELF guest for ${mode} mode`, async () => {
        const r = await buildGuest({ source: path.join(GUESTS, 'protected-elf', 'protected.S'), mode, outDir: outDir() });
        expectOk(r);
        assert.deepEqual(r.diagnostics, []);
        const elf = readElf(r.elf);
        assert.equal(elf.bits, 32);
        assert.equal(elf.machine, EM_386);
        assert.equal(elf.entry, 0x100000);
        assert.ok(elf.sections.some((s) => s.name === '.debug_line'));
        assert.ok(sectionBytes(elf, '.start').includes(Buffer.from([0x0f, 0x20, 0xc3])), 'mov %cr0,%ebx');
        assert.match(sectionBytes(elf, '.rodata').toString('latin1'), /protected mode: yes\n/);
        const loads = elf.segments.filter((s) => s.type === PT_LOAD);
        assert.equal(loads.length, 2);
        assert.equal(loads[1].flags & 7, 6, 'R W data segment');
        assert.equal(elf.symbols.get('magic'), loads[1].vaddr);
        checkLoadSegments(elf, 0x100000);
      });
    }

    it('puts .bss in the last segment (memsz > filesz) and keeps guest-defined sections', async () => {
      const dir = tmpDir('bss');
      for (const [mode, code] of [['protected', '.code32'], ['long', '.code64']] as const) {
        const src = write(dir, `data-${mode}.S`, [
          code,
          '.section .start, "ax"', '.globl _start', '_start:', '  movl $1, counter', '  hlt',
          '.section .mydata, "aw"', 'custom: .long 7',
          '.data', 'counter: .long 0',
          '.bss', 'buffer: .space 4096', '',
        ].join('\n'));
        const r = await buildGuest({ source: src, mode, outDir: dir });
        expectOk(r);
        const elf = readElf(r.elf);
        const loads = elf.segments.filter((s) => s.type === PT_LOAD);
        const last = loads[loads.length - 1];
        assert.ok(last.memsz > last.filesz, 'bss zero-filled past filesz');
        assert.ok(elf.sections.some((s) => s.name === '.mydata' && s.addr >= last.vaddr), '.mydata kept');
        const bss = elf.sections.find((s) => s.name === '.bss');
        assert.ok(bss && bss.addr >= last.vaddr && bss.addr + bss.size <= last.vaddr + last.memsz);
        checkLoadSegments(elf, 0x100000);
      }
    });

    it('writes next to the source by default, with the mode in the names', async () => {
      const dir = tmpDir('default-out');
      const src = write(dir, 'tiny.S', '.code32\n.section .start, "ax"\n.globl _start\n_start: hlt\n');
      const r = await buildGuest({ source: src, mode: 'paged32' });
      expectOk(r);
      assert.equal(r.elf, path.join(dir, 'build', 'tiny.paged32.elf'));
      assert.deepEqual(buildOutputPaths(src, 'real'), {
        object: path.join(dir, 'build', 'tiny.real.o'),
        elf: path.join(dir, 'build', 'tiny.real.elf'),
        flat: path.join(dir, 'build', 'tiny.real.bin'),
      });
      for (const argv of r.commands) assert.ok(path.isAbsolute(argv[0]), argv[0]);
    });
  });

  describe('build diagnostics', () => {
    it('reports an assembler error in a .S at its file and line', async () => {
      const dir = tmpDir('as-error');
      const src = write(dir, 'hello.S', '.code16\nstart:\n    mov $1, %ax\n    movz %ax, %bx\n    hlt\n');
      const r = await buildGuest({ source: src, mode: 'real', outDir: dir });
      expectFail(r);
      const [e] = errorsOf(r);
      assert.equal(e.file, src);
      assert.equal(e.line, 4);
      assert.equal(e.severity, 'error');
      assert.equal(e.tool, 'as');
      assert.ok(e.column === undefined || e.column > 0);
      assert.match(e.message, /no such instruction: 'movz %ax,\s*%bx'/);
      assert.equal(r.message, `hello.S:4: Error: ${e.message}`);
      assert.equal(r.commands.length, 1, 'stops after the failing step');
    });

    it('reports an assembler error in a .s (as run directly)', async () => {
      const dir = tmpDir('s-error');
      const src = write(dir, 'plain.s', '# comment\n.code32\n  nop\n  bogus %eax\n  .warning "watch out"\n');
      const r = await buildGuest({ source: src, mode: 'protected', outDir: dir });
      expectFail(r);
      assert.deepEqual(
        r.diagnostics.map((d) => [d.file, d.line, d.severity, d.tool]),
        [[src, 4, 'error', 'as'], [src, 5, 'warning', 'as']],
      );
      assert.match(r.message, /^plain\.s:4: Error: no such instruction: 'bogus %eax'$/);
    });

    it('reports an error inside an #included header at the header', async () => {
      const dir = tmpDir('include-error');
      const header = write(dir, 'inc/defs.h', '#define PORT 0xe9\n\n    notaninsn %al\n');
      const src = write(dir, 'main.S', '#include "defs.h"\n.code32\n.globl _start\n_start:\n    outb %al, $PORT\n');
      const r = await buildGuest({ source: src, mode: 'protected', outDir: dir, includePaths: [path.join(dir, 'inc')] });
      expectFail(r);
      const errors = errorsOf(r);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].file, header);
      assert.equal(errors[0].line, 3);
      assert.match(r.message, /^inc\/defs\.h:3: Error: no such instruction/);
    });

    it('reports a missing include at the #include line (cpp)', async () => {
      const dir = tmpDir('missing-include');
      const src = write(dir, 'main.S', '.code32\n#include "nowhere.h"\nhlt\n');
      const r = await buildGuest({ source: src, mode: 'protected', outDir: dir });
      expectFail(r);
      const [e] = errorsOf(r);
      assert.deepEqual([e.file, e.line, e.column, e.tool], [src, 2, 10, 'cpp']);
      assert.match(e.message, /nowhere\.h: No such file or directory/);
    });

    it('reports a C error with file, line and column, and errors in C headers at the header', async () => {
      const dir = tmpDir('c-error');
      write(dir, 'util.h', 'static inline int twice(int x)\n{\n    return x * undeclared_thing;\n}\n');
      const src = write(dir, 'guest.c', '#include "util.h"\n\nvoid _start(void)\n{\n    int y = 1\n    for (;;) ;\n}\n');
      const r = await buildGuest({ source: src, mode: 'long', outDir: dir });
      expectFail(r);
      const errors = errorsOf(r);
      const inHeader = errors.find((d) => d.file === path.join(dir, 'util.h'));
      assert.ok(inHeader, 'error in util.h');
      assert.deepEqual([inHeader.line, inHeader.column, inHeader.tool], [3, 16, 'gcc']);
      assert.deepEqual(inHeader.includedFrom, [{ file: src, line: 1 }]);
      const inSource = errors.find((d) => d.file === src);
      assert.ok(inSource, 'error in guest.c');
      assert.equal(inSource.line, 6); // gcc points at the token after the missing ';'
      assert.equal(inSource.column, 5);
      assert.match(inSource.message, /expected ',' or ';'/);
      assert.equal(r.message, formatDiagnostic(errors[0], dir));
      assert.match(r.message, /^util\.h:3:16: error: 'undeclared_thing' undeclared/);
    });

    it('reports an undefined symbol at link time from ld, at the referencing line', async () => {
      const dir = tmpDir('ld-error');
      const src = write(dir, 'link.S', '.code64\n.section .start, "ax"\n.globl _start\n_start:\n    call missing_function\n    hlt\n');
      const r = await buildGuest({ source: src, mode: 'long', outDir: dir });
      expectFail(r);
      assert.equal(r.commands.length, 2);
      const [e] = errorsOf(r);
      assert.deepEqual([e.file, e.line, e.severity, e.tool], [src, 5, 'error', 'ld']);
      assert.match(e.message, /undefined reference to 'missing_function'/);
      assert.match(r.message, /^link\.S:5: error: undefined reference to 'missing_function'$/);
      assert.equal(fs.existsSync(path.join(dir, 'link.long.elf')), false);
    });

    it('does not leave a stale ELF behind a failed build', async () => {
      const dir = tmpDir('stale');
      const src = write(dir, 'g.S', '.code32\n.globl _start\n_start: hlt\n');
      const good = await buildGuest({ source: src, mode: 'protected', outDir: dir });
      expectOk(good);
      fs.writeFileSync(src, '.code32\n.globl _start\n_start: hlt %eax\n');
      const bad = await buildGuest({ source: src, mode: 'protected', outDir: dir });
      expectFail(bad);
      assert.equal(fs.existsSync(good.elf), false);
    });

    it('rejects unsupported source types with a clear message', async () => {
      const dir = tmpDir('ext');
      for (const name of ['guest.asm', 'guest.cpp', 'Makefile']) {
        const src = write(dir, name, 'nop\n');
        const r = await buildGuest({ source: src, mode: 'real', outDir: dir });
        expectFail(r);
        assert.match(r.message, /unsupported file type/);
        assert.match(r.message, /\.S .*\.s .*\.c/);
        assert.deepEqual(r.commands, []);
      }
      const missing = await buildGuest({ source: path.join(dir, 'absent.S'), mode: 'real', outDir: dir });
      expectFail(missing);
      assert.match(missing.message, /cannot read .*absent\.S/);
    });

    it('warns when the requested mode does not match the source', async () => {
      const dir = tmpDir('mode-warning');
      const src = write(dir, 'm.S', '// header\n.code64\n.globl _start\n_start: hlt\n');
      const r = await buildGuest({ source: src, mode: 'protected', outDir: dir });
      expectOk(r);
      assert.deepEqual(r.diagnostics.map((d) => [d.line, d.severity]), [[2, 'warning']]);
      const plain = write(dir, 'r.s', '.globl _start\n_start: hlt\n');
      const r2 = await buildGuest({ source: plain, mode: 'real', outDir: dir });
      expectOk(r2);
      assert.match(r2.diagnostics[0]?.message ?? '', /no \.code16 directive/);
    });

    it('passes defines and include paths through', async () => {
      const dir = tmpDir('defines');
      write(dir, 'extra/answer.h', '#define ANSWER_FROM_HEADER 42\n');
      const src = write(dir, 'd.S', '#include "answer.h"\n#include "kvm-guest.h"\n.code32\n.globl _start\n_start:\n  movl $ANSWER_FROM_HEADER + EXTRA, %eax\n  outb %al, $DEBUG_CONSOLE_PORT\n#if KVM_GUEST_BITS != 32 || !defined(KVM_GUEST_MODE_PAGED32)\n#error wrong mode macros\n#endif\n  hlt\n');
      const r = await buildGuest({ source: src, mode: 'paged32', outDir: dir, includePaths: [path.join(dir, 'extra')], defines: { EXTRA: '1' } });
      expectOk(r);
      const code = sectionBytes(readElf(r.elf), '.text');
      assert.ok(code.includes(Buffer.from([0xb8, 43, 0, 0, 0, 0xe6, 0xe9])), 'mov $43,%eax; out %al,$0xe9');
    });

    it('compiles kvm-guest.h in C for every mode', async () => {
      const dir = tmpDir('runtime-header');
      const src = write(dir, 'rt.c', '#include "kvm-guest.h"\nvoid __attribute__((section(".start"))) _start(void)\n{\n    serial_puts("uart\\n");\n    debug_puts("e9\\n");\n    pseudo_serial_puts("f1\\n");\n    (void)inb(COM1_PORT + UART_LSR);\n    halt_forever();\n}\n');
      for (const mode of CPU_MODES) {
        const r = await buildGuest({ source: src, mode, outDir: dir, extraFlags: ['-Wall', '-Wextra', '-Werror'] });
        expectOk(r);
        assert.deepEqual(r.diagnostics, [], mode);
      }
    });

    it('stops when aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        buildGuest({ source: path.join(GUESTS, 'hello-world', 'hello.c'), mode: 'long', outDir: tmpDir('abort'), signal: controller.signal }),
        (e: unknown) => e instanceof Error && e.name === 'AbortError',
      );
    });
  });

  describe('output parsers', () => {
    const ctx = { cwd: '/src', source: '/src/guest.S', objects: { '/src/build/guest.real.o': '/src/guest.S' }, linkerScript: '/pkg/guests/ld/real16.ld' };

    it('parses gas messages and skips the "Assembler messages" header', () => {
      const out = 'guest.S: Assembler messages:\nguest.S:7: Error: junk at end of line, first unrecognized character is `,\'\nguest.S:9: Warning: value 0x1234 truncated to 0x34\n/abs/macros.inc:3:  Info: macro invoked from here\n';
      assert.deepEqual(parseAssemblerOutput(out, ctx), [
        { file: '/src/guest.S', line: 7, severity: 'error', message: "junk at end of line, first unrecognized character is ','", tool: 'as' },
        { file: '/src/guest.S', line: 9, severity: 'warning', message: 'value 0x1234 truncated to 0x34', tool: 'as' },
        { file: '/abs/macros.inc', line: 3, severity: 'note', message: 'macro invoked from here', tool: 'as' },
      ]);
    });

    it('parses gcc messages with include chains, notes and driver errors', () => {
      const out = [
        'In file included from inc/b.h:2,',
        '                 from guest.c:1:',
        'inc/a.h: In function \'f\':',
        'inc/a.h:4:12: error: \'q\' undeclared (first use in this function)',
        '    4 |     return q;',
        '      |            ^',
        'inc/a.h:4:12: note: each undeclared identifier is reported only once',
        'inc/a.h:6:1: warning: no return statement [-Wreturn-type]',
        'guest.c:9:3: fatal error: gone.h: No such file or directory',
        'compilation terminated.',
        'gcc: error: unrecognized command-line option \'-mbogus\'',
      ].join('\n');
      const ds = parseCompilerOutput(out, { ...ctx, source: '/src/guest.c' });
      const chain = [{ file: '/src/inc/b.h', line: 2 }, { file: '/src/guest.c', line: 1 }];
      assert.deepEqual(ds, [
        { file: '/src/inc/a.h', line: 4, column: 12, severity: 'error', message: "'q' undeclared (first use in this function)", tool: 'gcc', includedFrom: chain },
        { file: '/src/inc/a.h', line: 4, column: 12, severity: 'note', message: 'each undeclared identifier is reported only once', tool: 'gcc', includedFrom: chain },
        { file: '/src/inc/a.h', line: 6, column: 1, severity: 'warning', message: 'no return statement [-Wreturn-type]', tool: 'gcc', includedFrom: chain },
        { file: '/src/guest.c', line: 9, column: 3, severity: 'error', message: 'gone.h: No such file or directory', tool: 'gcc' },
        { file: '/src/guest.c', line: 0, severity: 'error', message: "gcc: unrecognized command-line option '-mbogus'", tool: 'gcc' },
      ]);
      assert.equal(formatDiagnostic(ds[0], '/src'), "inc/a.h:4:12: error: 'q' undeclared (first use in this function)");
      assert.equal(formatDiagnostic(ds[4], '/src'), "guest.c: error: gcc: unrecognized command-line option '-mbogus'");
    });

    it('parses ld messages: located, section-relative, layout and missing files', () => {
      const out = [
        '/usr/bin/ld: build/guest.real.o: in function `start\':',
        '/src/guest.S:12: undefined reference to `far_away\'',
        'ld: /src/guest.S:14: undefined reference to `also_missing\'',
        'ld: build/guest.real.o:(.text+0x5): undefined reference to `no_debug_info\'',
        'ld: (.text+0x9): undefined reference to `again\'',
        'ld: cannot find -lfoo: No such file or directory',
        'ld: cannot open linker script file /nowhere/x.ld: No such file or directory',
        'ld:/pkg/guests/ld/real16.ld:7: syntax error',
        'ld: section .data LMA [00000004,00000007] overlaps section .text LMA [00000000,0000000f]',
        'ld: guest.elf section `.text\' will not fit in region `ram\'',
        'ld: region `ram\' overflowed by 16 bytes',
        'ld: warning: cannot find entry symbol _start; defaulting to 00000000',
        'ld: i386:x86-64 architecture of input file `build/guest.real.o\' is incompatible with i386 output',
      ].join('\n');
      const ds = parseLinkerOutput(out, ctx);
      const brief = ds.map((d) => [d.file, d.line, d.severity, d.message]);
      assert.deepEqual(brief, [
        ['/src/guest.S', 12, 'error', "undefined reference to 'far_away'"],
        ['/src/guest.S', 14, 'error', "undefined reference to 'also_missing'"],
        ['/src/guest.S', 0, 'error', "undefined reference to 'no_debug_info' (in .text of guest.real.o)"],
        ['/src/guest.S', 0, 'error', "undefined reference to 'again' (in .text of guest.real.o)"],
        ['/src/guest.S', 0, 'error', 'cannot find -lfoo: No such file or directory'],
        ['/nowhere/x.ld', 0, 'error', 'cannot open linker script file /nowhere/x.ld: No such file or directory'],
        ['/pkg/guests/ld/real16.ld', 7, 'error', 'syntax error'],
        ['/pkg/guests/ld/real16.ld', 0, 'error', 'section .data LMA [00000004,00000007] overlaps section .text LMA [00000000,0000000f]'],
        ['/pkg/guests/ld/real16.ld', 0, 'error', "guest.elf section '.text' will not fit in region 'ram'"],
        ['/pkg/guests/ld/real16.ld', 0, 'error', "region 'ram' overflowed by 16 bytes"],
        ['/src/guest.S', 0, 'warning', 'cannot find entry symbol _start; defaulting to 00000000'],
        ['/src/guest.S', 0, 'error', "i386:x86-64 architecture of input file 'build/guest.real.o' is incompatible with i386 output"],
      ]);
      assert.ok(ds.every((d) => d.tool === 'ld'));
    });
  });
});
