// Own DWARF .debug_line reader: npm has none for native ELF (only WASM-for-js-debug or unmaintained ones).
// Decodes line-number programs of DWARF 2–5 (32- and 64-bit DWARF) into rows; for DWARF 2–4 the
// compilation directory comes from .debug_info (DW_AT_comp_dir), read by readCompDirs below.
import * as path from 'node:path';
import { ImageError } from './guest-image';

export interface LineRow {
  address: number;
  /** Absolute, normalized path. */
  file: string;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
}

export interface LineProgram {
  /** Offset of the unit in .debug_line (what DW_AT_stmt_list refers to). */
  offset: number;
  version: number;
  /** File table, index as used by DW_LNS_set_file (v5 from 0, v2–4 from 1: entry 0 is then unused ''). */
  files: string[];
  rows: LineRow[];
}

export interface DebugLineSections {
  debugLine: Uint8Array;
  /** DWARF 5 DW_FORM_line_strp strings. */
  debugLineStr?: Uint8Array;
  /** DW_FORM_strp strings. */
  debugStr?: Uint8Array;
  /** The ELF's byte order (default little-endian; ppc64 big-endian ELFs carry big-endian DWARF). */
  littleEndian?: boolean;
}

export interface DebugLineOptions {
  /** Named in error messages. */
  path: string;
  /** The compilation directory of the unit at a .debug_line offset (needed for DWARF 2–4). */
  compDir?: (offset: number) => string | undefined;
  /** Base for paths still relative after the rules (no comp dir known): the ELF's folder, say. */
  baseDir?: string;
}

// Standard opcodes.
const DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4, DW_LNS_set_column = 5,
  DW_LNS_negate_stmt = 6, DW_LNS_set_basic_block = 7, DW_LNS_const_add_pc = 8, DW_LNS_fixed_advance_pc = 9,
  DW_LNS_set_prologue_end = 10, DW_LNS_set_epilogue_begin = 11, DW_LNS_set_isa = 12;
// Extended opcodes.
const DW_LNE_end_sequence = 1, DW_LNE_set_address = 2, DW_LNE_define_file = 3, DW_LNE_set_discriminator = 4;
// v5 entry content types.
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;
// Forms.
const DW_FORM_addr = 0x01, DW_FORM_block2 = 0x03, DW_FORM_block4 = 0x04, DW_FORM_data2 = 0x05, DW_FORM_data4 = 0x06,
  DW_FORM_data8 = 0x07, DW_FORM_string = 0x08, DW_FORM_block = 0x09, DW_FORM_block1 = 0x0a, DW_FORM_data1 = 0x0b,
  DW_FORM_flag = 0x0c, DW_FORM_sdata = 0x0d, DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f, DW_FORM_ref_addr = 0x10,
  DW_FORM_ref1 = 0x11, DW_FORM_ref2 = 0x12, DW_FORM_ref4 = 0x13, DW_FORM_ref8 = 0x14, DW_FORM_ref_udata = 0x15,
  DW_FORM_indirect = 0x16, DW_FORM_sec_offset = 0x17, DW_FORM_exprloc = 0x18, DW_FORM_flag_present = 0x19,
  DW_FORM_strx = 0x1a, DW_FORM_addrx = 0x1b, DW_FORM_ref_sup4 = 0x1c, DW_FORM_strp_sup = 0x1d, DW_FORM_data16 = 0x1e,
  DW_FORM_line_strp = 0x1f, DW_FORM_ref_sig8 = 0x20, DW_FORM_implicit_const = 0x21, DW_FORM_loclistx = 0x22,
  DW_FORM_rnglistx = 0x23, DW_FORM_ref_sup8 = 0x24, DW_FORM_strx1 = 0x25, DW_FORM_strx2 = 0x26, DW_FORM_strx3 = 0x27,
  DW_FORM_strx4 = 0x28, DW_FORM_addrx1 = 0x29, DW_FORM_addrx2 = 0x2a, DW_FORM_addrx3 = 0x2b, DW_FORM_addrx4 = 0x2c,
  DW_FORM_GNU_addr_index = 0x1f01, DW_FORM_GNU_str_index = 0x1f02, DW_FORM_GNU_ref_alt = 0x1f20, DW_FORM_GNU_strp_alt = 0x1f21;

const hex = (n: number): string => '0x' + n.toString(16);

/** A bounds-checked cursor over one section, in the ELF's byte order; reads past `end` throw ImageError. */
class Reader {
  pos: number;
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string, // e.g. "/x/a.elf: .debug_line unit at 0x0"
    public end: number = bytes.length,
    start = 0,
    readonly le = true,
  ) {
    this.pos = start;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  truncated(need: string): ImageError {
    return new ImageError(`${this.what}: truncated: ${need} at ${hex(this.pos)} runs past the end at ${hex(this.end)}`);
  }
  malformed(msg: string, at = this.pos): ImageError {
    return new ImageError(`${this.what}: malformed at ${hex(at)}: ${msg}`);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw this.truncated(what);
  }
  u8(what = 'a byte'): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }
  s8(what = 'a byte'): number {
    this.need(1, what);
    return this.dv.getInt8(this.pos++);
  }
  u16(what = 'a 2-byte value'): number {
    this.need(2, what);
    const v = this.dv.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  u32(what = 'a 4-byte value'): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  /** Unsigned value of n (1–8) bytes in the reader's byte order; undefined when it exceeds 2^53. */
  uN(n: number, what: string): number | undefined {
    this.need(n, what);
    let v = 0n;
    if (this.le) for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[this.pos + i]);
    else for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.bytes[this.pos + i]);
    this.pos += n;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  }
  /** An offset or length that must fit in a JS number. */
  offset(n: number, what: string): number {
    const at = this.pos;
    const v = this.uN(n, what);
    if (v === undefined) throw this.malformed(`${what} is too large`, at);
    return v;
  }
  uleb(what = 'a ULEB128 value'): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8(what);
      // Bits past 2^53 are dropped rather than rejected: nothing we use is that large.
      if (mul < 2 ** 53) result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
  }
  sleb(what = 'an SLEB128 value'): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8(what);
      if (mul < 2 ** 53) result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= mul;
        return result;
      }
    }
  }
  cstr(what = 'a string'): string {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw this.truncated(`${what} (no NUL before the end)`);
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, nul - this.pos).toString('utf8');
    this.pos = nul + 1;
    return s;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** The unit length field: 32-bit DWARF, or 0xffffffff then a 64-bit length (64-bit DWARF). */
function readUnitLength(r: Reader): { length: number; offsetSize: 4 | 8 } {
  const at = r.pos;
  const l32 = r.u32('the unit length');
  if (l32 < 0xfffffff0) return { length: l32, offsetSize: 4 };
  if (l32 !== 0xffffffff) throw r.malformed(`reserved unit length ${hex(l32)}`, at);
  return { length: r.offset(8, 'the 64-bit unit length'), offsetSize: 8 };
}

function stringAt(section: Uint8Array | undefined, offset: number, name: string, r: Reader): string {
  if (section === undefined) throw r.malformed(`a string in ${name} is referenced, but the ELF has no ${name} section`);
  const nul = offset < section.length ? section.indexOf(0, offset) : -1;
  if (nul < 0) throw r.malformed(`string offset ${hex(offset)} is outside ${name} (${hex(section.length)} bytes)`);
  return Buffer.from(section.buffer, section.byteOffset + offset, nul - offset).toString('utf8');
}

function joinPath(base: string | undefined, p: string): string {
  if (p === '' && base !== undefined) return base;
  return base === undefined || path.posix.isAbsolute(p) ? p : path.posix.join(base, p);
}

function absolute(p: string, baseDir: string | undefined): string {
  if (path.posix.isAbsolute(p)) return path.posix.normalize(p);
  return path.posix.normalize(baseDir !== undefined ? path.posix.join(baseDir, p) : p);
}

type FormValue = { str?: string; num?: number };

/** Reads one attribute value of the forms line tables and compile-unit DIEs use. */
function readForm(
  r: Reader, form: number, ctx: { offsetSize: 4 | 8; addressSize: number; version: number; sections: DebugLineSections; implicit?: number },
): FormValue {
  switch (form) {
    case DW_FORM_string: return { str: r.cstr() };
    case DW_FORM_line_strp: return { str: stringAt(ctx.sections.debugLineStr, r.offset(ctx.offsetSize, 'a .debug_line_str offset'), '.debug_line_str', r) };
    case DW_FORM_strp: return { str: stringAt(ctx.sections.debugStr, r.offset(ctx.offsetSize, 'a .debug_str offset'), '.debug_str', r) };
    case DW_FORM_strp_sup: case DW_FORM_GNU_strp_alt: case DW_FORM_GNU_ref_alt: case DW_FORM_sec_offset:
      return { num: r.offset(ctx.offsetSize, 'an offset') };
    case DW_FORM_ref_addr: return { num: r.offset(ctx.version <= 2 ? ctx.addressSize : ctx.offsetSize, 'a reference') };
    case DW_FORM_addr: return { num: r.uN(ctx.addressSize, 'an address') };
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1: return { num: r.u8() };
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: return { num: r.u16() };
    case DW_FORM_strx3: case DW_FORM_addrx3: return { num: r.uN(3, 'a 3-byte index') };
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_ref_sup4: case DW_FORM_strx4: case DW_FORM_addrx4: return { num: r.u32() };
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8: return { num: r.uN(8, 'an 8-byte value') };
    case DW_FORM_data16: r.skip(16, 'a 16-byte value'); return {};
    case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx: case DW_FORM_addrx: case DW_FORM_loclistx:
    case DW_FORM_rnglistx: case DW_FORM_GNU_addr_index: case DW_FORM_GNU_str_index:
      return { num: r.uleb() };
    case DW_FORM_sdata: return { num: r.sleb() };
    case DW_FORM_flag_present: return { num: 1 };
    case DW_FORM_implicit_const: return { num: ctx.implicit };
    case DW_FORM_block1: r.skip(r.u8(), 'a block'); return {};
    case DW_FORM_block2: r.skip(r.u16(), 'a block'); return {};
    case DW_FORM_block4: r.skip(r.u32(), 'a block'); return {};
    case DW_FORM_block: case DW_FORM_exprloc: r.skip(r.uleb(), 'a block'); return {};
    case DW_FORM_indirect: return readForm(r, r.uleb(), ctx);
    default: throw r.malformed(`unsupported attribute form ${hex(form)}`);
  }
}

/** Decodes every line-number program in .debug_line. */
export function parseLinePrograms(sections: DebugLineSections, options: DebugLineOptions): LineProgram[] {
  const data = sections.debugLine;
  const out: LineProgram[] = [];
  let offset = 0;
  while (offset < data.length) {
    // Linkers may pad the section with zeros after the last unit.
    if (data.subarray(offset).every((b) => b === 0)) break;
    const unit = new Reader(data, `${options.path}: .debug_line unit at ${hex(offset)}`, data.length, offset, sections.littleEndian ?? true);
    const { length, offsetSize } = readUnitLength(unit);
    const end = unit.pos + length;
    if (end > data.length) throw unit.truncated(`the unit's ${length} bytes`);
    unit.end = end;
    out.push(parseUnit(unit, offset, offsetSize, sections, options));
    offset = end;
  }
  return out;
}

/** All rows of all units, in section order. */
export function parseDebugLine(sections: DebugLineSections, options: DebugLineOptions): LineRow[] {
  return parseLinePrograms(sections, options).flatMap((p) => p.rows);
}

function parseUnit(r: Reader, unitOffset: number, offsetSize: 4 | 8, sections: DebugLineSections, options: DebugLineOptions): LineProgram {
  const versionAt = r.pos;
  const version = r.u16('the version');
  if (version < 2 || version > 5) throw r.malformed(`unsupported .debug_line version ${version} (2 to 5 are)`, versionAt);
  let addressSize = 0;
  if (version >= 5) {
    addressSize = r.u8('the address size');
    r.u8('the segment selector size');
  }
  const headerLength = r.offset(offsetSize, 'the header length');
  const programStart = r.pos + headerLength;
  if (programStart > r.end) throw r.malformed(`header length ${headerLength} runs past the unit's end ${hex(r.end)}`);
  const minInstLength = r.u8('minimum_instruction_length');
  const maxOps = version >= 4 ? r.u8('maximum_operations_per_instruction') || 1 : 1;
  const defaultIsStmt = r.u8('default_is_stmt') !== 0;
  const lineBase = r.s8('line_base');
  const lineRangeAt = r.pos;
  const lineRange = r.u8('line_range');
  if (lineRange === 0) throw r.malformed('line_range is 0', lineRangeAt);
  const opcodeBase = r.u8('opcode_base');
  const opcodeLengths = [0];
  for (let i = 1; i < opcodeBase; i++) opcodeLengths.push(r.u8('standard_opcode_lengths'));

  // Directories and file names, as (directory index, name) before the comp dir is applied.
  const fileEntries: Array<{ name: string; dir: number }> = [];
  let dirs: string[];
  const ctx = { offsetSize, addressSize, version, sections };
  const header = new Reader(r.bytes, r.what, programStart, r.pos, r.le);
  if (version >= 5) {
    const readTable = (what: string): Array<{ path?: string; dir: number }> => {
      const formatCount = header.u8(`the ${what} entry format count`);
      const formats: Array<[number, number]> = [];
      for (let i = 0; i < formatCount; i++) formats.push([header.uleb(`the ${what} entry format`), header.uleb(`the ${what} entry format`)]);
      const count = header.uleb(`the ${what} count`);
      const entries: Array<{ path?: string; dir: number }> = [];
      for (let i = 0; i < count; i++) {
        const e: { path?: string; dir: number } = { dir: 0 };
        for (const [type, form] of formats) {
          const v = readForm(header, form, ctx);
          if (type === DW_LNCT_path) e.path = v.str;
          else if (type === DW_LNCT_directory_index) e.dir = v.num ?? 0;
          // DW_LNCT_timestamp, _size, _MD5 and vendor types are read past and not used.
        }
        if (e.path === undefined) throw header.malformed(`${what} entry ${i} has no string DW_LNCT_path`);
        entries.push(e);
      }
      return entries;
    };
    dirs = readTable('directory').map((e) => e.path ?? '');
    for (const f of readTable('file name')) fileEntries.push({ name: f.path ?? '', dir: f.dir });
  } else {
    dirs = [''];
    for (let d = header.cstr('an include directory'); d !== ''; d = header.cstr('an include directory')) dirs.push(d);
    for (let f = header.cstr('a file name'); f !== ''; f = header.cstr('a file name')) {
      const dir = header.uleb('a directory index');
      header.uleb('a modification time');
      header.uleb('a file length');
      fileEntries.push({ name: f, dir });
    }
  }

  // v5: directory 0 is the comp dir, others relative to it. v2–4: index 0 means the comp dir,
  // which only .debug_info knows.
  const compDir = version >= 5 ? dirs[0] : options.compDir?.(unitOffset);
  const dirPath = (i: number): string | undefined => {
    if (version < 5 && i === 0) return compDir;
    if (i >= dirs.length) throw r.malformed(`directory ${i} is not in the unit`);
    return version >= 5 && i === 0 ? dirs[0] : joinPath(compDir, dirs[i]);
  };
  const resolve = (e: { name: string; dir: number }): string => absolute(joinPath(dirPath(e.dir), e.name), options.baseDir);
  // Resolved when a row uses them, so a bad entry nobody refers to does no harm.
  const entries: Array<{ name: string; dir: number } | undefined> = version >= 5 ? [...fileEntries] : [undefined, ...fileEntries];
  const resolved = new Map<number, string>();
  const fileName = (i: number, at: number): string => {
    let name = resolved.get(i);
    if (name === undefined) {
      const e = entries[i];
      if (e === undefined)
        throw r.malformed(`a row refers to file ${i}, which is not in the unit's file table (${fileEntries.length} entries, from ${version >= 5 ? 0 : 1})`, at);
      try {
        name = resolve(e);
      } catch (err) {
        throw err instanceof ImageError ? r.malformed(`file ${i} (${e.name}) refers to directory ${e.dir}, but the unit has ${dirs.length}`, at) : err;
      }
      resolved.set(i, name);
    }
    return name;
  };

  // The state machine (DWARF 5 section 6.2.2).
  const rows: LineRow[] = [];
  let sequence: LineRow[] = [];
  let address = 0, opIndex = 0, file = 1, line = 1, column = 0, isStmt = defaultIsStmt;
  let dead = false; // a sequence at a tombstone address (code the linker discarded)
  const reset = (): void => {
    address = 0; opIndex = 0; file = 1; line = 1; column = 0; isStmt = defaultIsStmt;
  };
  const emit = (endSequence: boolean, at: number): void => {
    if (!dead) sequence.push({ address, file: fileName(file, at), line, column, isStmt, endSequence });
    if (endSequence) {
      rows.push(...sequence);
      sequence = [];
      dead = false;
      reset();
    }
  };
  const advance = (operationAdvance: number): void => {
    address += minInstLength * Math.floor((opIndex + operationAdvance) / maxOps);
    opIndex = (opIndex + operationAdvance) % maxOps;
  };

  r.pos = programStart;
  while (r.pos < r.end) {
    const at = r.pos;
    const op = r.u8();
    if (op >= opcodeBase) {
      const adjusted = op - opcodeBase;
      advance(Math.floor(adjusted / lineRange));
      line += lineBase + (adjusted % lineRange);
      emit(false, at);
      continue;
    }
    switch (op) {
      case 0: {
        const len = r.uleb('an extended opcode length');
        const next = r.pos + len;
        if (next > r.end) throw r.truncated(`an extended opcode of ${len} bytes`);
        if (len === 0) break;
        const sub = r.u8();
        if (sub === DW_LNE_end_sequence) emit(true, at);
        else if (sub === DW_LNE_set_address) {
          const n = len - 1;
          if (n < 1 || n > 8) throw r.malformed(`DW_LNE_set_address with a ${n}-byte address`, at);
          const value = r.uN(n, 'an address');
          // All-ones is the tombstone linkers give discarded code; beyond 2^53 is not ours either.
          dead = value === undefined || value === 2 ** (8 * n) - 1;
          address = value ?? 0;
          opIndex = 0;
        } else if (sub === DW_LNE_define_file) {
          const name = r.cstr('a file name');
          const dir = r.uleb('a directory index');
          entries.push({ name, dir });
        } else if (sub === DW_LNE_set_discriminator) {
          r.uleb('a discriminator');
        }
        r.pos = next; // unknown extended opcodes are skipped by their length
        break;
      }
      case DW_LNS_copy: emit(false, at); break;
      case DW_LNS_advance_pc: advance(r.uleb('an address advance')); break;
      case DW_LNS_advance_line: line += r.sleb('a line advance'); break;
      case DW_LNS_set_file: file = r.uleb('a file index'); break;
      case DW_LNS_set_column: column = r.uleb('a column'); break;
      case DW_LNS_negate_stmt: isStmt = !isStmt; break;
      case DW_LNS_set_basic_block: case DW_LNS_set_prologue_end: case DW_LNS_set_epilogue_begin: break;
      case DW_LNS_const_add_pc: advance(Math.floor((255 - opcodeBase) / lineRange)); break;
      case DW_LNS_fixed_advance_pc: address += r.u16('a fixed address advance'); opIndex = 0; break;
      case DW_LNS_set_isa: r.uleb('an ISA'); break;
      default:
        // An opcode this reader does not know: skip its ULEB arguments as the header says.
        for (let i = 0; i < opcodeLengths[op]; i++) r.uleb('an opcode argument');
    }
  }
  // Rows of a sequence without DW_LNE_end_sequence have no end address: dropped.
  const files = entries.map((e, i) => {
    try {
      return e === undefined ? '' : fileName(i, programStart);
    } catch {
      return '';
    }
  });
  return { offset: unitOffset, version, files, rows };
}

/**
 * DW_AT_comp_dir of each compile unit in .debug_info, by its DW_AT_stmt_list (.debug_line offset).
 * Needed for DWARF 2–4 line tables, whose file entries with directory 0 are relative to it.
 */
export function readCompDirs(
  sections: DebugLineSections & { debugInfo: Uint8Array; debugAbbrev: Uint8Array }, file: string,
): Map<number, string> {
  const DW_AT_stmt_list = 0x10, DW_AT_comp_dir = 0x1b;
  const DW_UT_compile = 1, DW_UT_partial = 3, DW_UT_skeleton = 4, DW_UT_split_compile = 5;
  const data = sections.debugInfo;
  const out = new Map<number, string>();
  let offset = 0;
  while (offset < data.length) {
    if (data.subarray(offset).every((b) => b === 0)) break;
    const r = new Reader(data, `${file}: .debug_info unit at ${hex(offset)}`, data.length, offset, sections.littleEndian ?? true);
    const { length, offsetSize } = readUnitLength(r);
    const end = r.pos + length;
    if (end > data.length) throw r.truncated(`the unit's ${length} bytes`);
    r.end = end;
    offset = end;
    const version = r.u16('the version');
    if (version < 2 || version > 5) continue; // not ours to judge: only the line tables matter
    let unitType = DW_UT_compile, abbrevOffset: number, addressSize: number;
    if (version >= 5) {
      unitType = r.u8('the unit type');
      addressSize = r.u8('the address size');
      abbrevOffset = r.offset(offsetSize, 'the abbreviation offset');
      if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) r.skip(8, 'the DWO id');
      else if (unitType !== DW_UT_compile && unitType !== DW_UT_partial) continue; // type units
    } else {
      abbrevOffset = r.offset(offsetSize, 'the abbreviation offset');
      addressSize = r.u8('the address size');
    }
    const code = r.uleb('the first abbreviation code');
    if (code === 0) continue;
    const attrs = findAbbrev(sections.debugAbbrev, abbrevOffset, code, file);
    const ctx = { offsetSize, addressSize, version, sections };
    let stmtList: number | undefined, compDir: string | undefined;
    for (const [name, form, implicit] of attrs) {
      const v = readForm(r, form, { ...ctx, implicit });
      if (name === DW_AT_stmt_list) stmtList = v.num;
      else if (name === DW_AT_comp_dir) compDir = v.str;
    }
    if (stmtList !== undefined && compDir !== undefined) out.set(stmtList, compDir);
  }
  return out;
}

/** The attribute specs (name, form, implicit const) of abbreviation `code` in the table at `offset`. */
function findAbbrev(abbrev: Uint8Array, offset: number, code: number, file: string): Array<[number, number, number | undefined]> {
  const r = new Reader(abbrev, `${file}: .debug_abbrev table at ${hex(offset)}`, abbrev.length, offset);
  if (offset > abbrev.length) throw r.truncated('the abbreviation table');
  for (;;) {
    const c = r.uleb('an abbreviation code');
    if (c === 0) throw r.malformed(`abbreviation ${code} is not in the table`);
    r.uleb('a tag');
    r.u8('the children flag');
    const attrs: Array<[number, number, number | undefined]> = [];
    for (;;) {
      const name = r.uleb('an attribute name');
      const form = r.uleb('an attribute form');
      if (name === 0 && form === 0) break;
      attrs.push([name, form, form === DW_FORM_implicit_const ? r.sleb('an implicit constant') : undefined]);
    }
    if (c === code) return attrs;
  }
}
