// Which architecture (and, for ppc64, which byte order) a guest is for: a property of the guest,
// chosen by --arch/--endian (launch attributes "arch"/"endian"), else read from the file: the ELF's
// e_machine and EI_DATA, or for a source a `kvm-guest: arch=ppc64` / `kvm-guest: endian=little`
// comment, an `-mlittle`/`-mbig` in a comment (the seed's command line), or its instructions —
// mnemonics only POWER has (li, mullw, stw, blr…) and no x86 register (%eax) or directive (.code64).

export type Arch = 'x86' | 'ppc64';
export type Endian = 'big' | 'little';
export const ARCHES: readonly Arch[] = ['x86', 'ppc64'];
export const ENDIANS: readonly Endian[] = ['big', 'little'];

export function isArch(v: unknown): v is Arch {
  return v === 'x86' || v === 'ppc64';
}
export function isEndian(v: unknown): v is Endian {
  return v === 'big' || v === 'little';
}

const EM_386 = 3, EM_X86_64 = 62, EM_PPC64 = 21;

/** From an ELF's identification and header; undefined when it is not an ELF of a known machine. */
export function archOfElf(bytes: Uint8Array): { arch: Arch; endian: Endian } | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const little = bytes[5] === 1;
  const machine = little ? bytes[18] | (bytes[19] << 8) : (bytes[18] << 8) | bytes[19];
  if (machine === EM_PPC64) return { arch: 'ppc64', endian: little ? 'little' : 'big' };
  if (machine === EM_386 || machine === EM_X86_64) return { arch: 'x86', endian: 'little' };
  return undefined;
}

/**
 * Mnemonics of the POWER instruction set that GNU as does not accept for x86 (so one of them is
 * evidence of POWER code): integer, load/store, branch, compare, rotate and system instructions.
 */
const POWER_ONLY = new Set(
  ('li lis la mr mullw mulld mulhw mulhd divw divd divwu divdu addi addis addic subf subfic neg ' +
    'lbz lhz lha lwz lwa ld stb sth stw std stwu stdu lbzx lwzx ldx stbx stwx stdx ' +
    'b ba bl bla blr bctr bctrl beq bne blt bgt ble bge bdnz bdz bc bclr bcctr ' +
    'cmpw cmpd cmpwi cmpdi cmplw cmpld cmplwi cmpldi ' +
    'rlwinm rldicl rldicr rldic rlwimi slw srw sraw srawi sld srd srad sradi extsb extsh extsw ' +
    'andi. andis. ori oris xori xoris nor nand eqv andc orc ' +
    'mflr mtlr mfctr mtctr mfcr mtcrf mfmsr mtmsr mtmsrd mfspr mtspr rfid hrfid sc isync sync lwsync eieio trap tw twi td tdi attn nop.').split(/\s+/),
);
const X86_EVIDENCE = /%[a-z]|^\s*\.(?:code16|code32|code64|intel_syntax|att_syntax)\b|\b(?:mov[bwlq]?|push[lqw]?|pop[lqw]?|hlt|jmp|outb|inb|lgdt|cli|sti|int)\b/im;

/**
 * `kvm-guest: arch=…` / `kvm-guest: endian=…` comments, `-mpower8`, or POWER-only code. `plainAssembly`
 * (a `.s` file): only there are instructions judged — a C line such as `b = 1;` or a `.S` macro
 * could look like a POWER mnemonic, and ppc64 guests are built from `.s` files only.
 */
export function detectArchFromSource(text: string, plainAssembly = true): { arch: Arch; endian?: Endian; via: string } | undefined {
  const marker = /kvm-guest:\s*arch\s*=\s*(x86|ppc64(?:le)?)/i.exec(text);
  const endian = detectEndianFromSource(text);
  if (marker) {
    const a = marker[1].toLowerCase();
    if (a === 'ppc64le') return { arch: 'ppc64', endian: 'little', via: `the source's "kvm-guest: arch=${a}" comment` };
    return { arch: a as Arch, endian, via: `the source's "kvm-guest: arch=${a}" comment` };
  }
  if (!plainAssembly) return undefined;
  if (/-mpower\d+\b/.test(text)) return { arch: 'ppc64', endian, via: "the source's -mpower flag" };
  // x86 evidence ends the search at once (an x86 file has a %register or a directive early on).
  if (X86_EVIDENCE.test(text.replace(/#.*$/gm, ''))) return undefined;
  let power = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/^\s*[\w.$]+:\s*/, '').trim();
    if (!line || line.startsWith('.')) continue;
    const mnemonic = line.split(/\s+/)[0].toLowerCase().replace(/[+-]$/, '');
    if (POWER_ONLY.has(mnemonic)) power++;
  }
  if (power > 0) return { arch: 'ppc64', endian, via: "the source's POWER instructions" };
  return undefined;
}

export function detectEndianFromSource(text: string): Endian | undefined {
  const marker = /kvm-guest:[^\n]*\bendian\s*=\s*(big|little)/i.exec(text);
  if (marker) return marker[1].toLowerCase() as Endian;
  if (/(?:^|\s)-mlittle\b|(?:^|\s)-mle\b/m.test(text)) return 'little';
  if (/(?:^|\s)-mbig\b/m.test(text)) return 'big';
  return undefined;
}
