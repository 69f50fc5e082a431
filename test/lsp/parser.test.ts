// The parser and the instruction tables on their own (in-process): comment and separator rules,
// labels, macros, the preprocessor, Intel syntax, AT&T suffixes and mode checks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkspaceIndex } from '../../language/index/workspace-index';
import { instructionTable } from '../../language/instruction-data/iced-table';
import { lookupMnemonic, modeProblem } from '../../language/instruction-data/mnemonic-lookup';
import { parseFile } from '../../language/parser/parse-file';
import type { DefineInfo, ParsedFile } from '../../language/parser/types';

const toks = (p: ParsedFile, line: number): string[] => p.tokens[line].map((t) => `${t.kind}:${t.text}${t.extra ?? ''}@${t.start}`);
const S = (text: string, predefined?: Array<[string, string]>): ParsedFile =>
  parseFile(text, {
    path: '/t/x.S', kind: 'asm-cpp',
    predefined: new Map(predefined?.map(([k, v]): [string, DefineInfo] => [k, { name: k, body: v, file: '', line: 0 }])),
  });
const s = (text: string): ParsedFile => parseFile(text, { path: '/t/x.s', kind: 'asm' });

describe('parser', () => {
  it('`;` separates statements; `#` comments in .s; `//`, `/* */` and `#` directives in .S', () => {
    const a = s('nop; cli ; hlt # stop; not code\n/ a line comment in .s\n');
    assert.deepEqual(toks(a, 0), ['mnemonic:nop@0', 'mnemonic:cli@5', 'mnemonic:hlt@11', 'comment:@15']);
    assert.deepEqual(toks(a, 1), ['comment:@0']);
    const b = S('#define X 1\nmovl $X, %eax // c\n/* a\n b */ hlt\n# not a directive\n');
    assert.deepEqual(toks(b, 0), ['preproc:#define@0', 'define-def:X@8', 'number:1@10']);
    assert.deepEqual(toks(b, 1), ['mnemonic:movl@0', 'symbol:X@6', 'register:eax@9', 'comment:@14']);
    assert.deepEqual(toks(b, 3), ['comment:@0', 'mnemonic:hlt@6']);
    assert.deepEqual(toks(b, 4), ['comment:@0']);
    assert.deepEqual(b.folds, [{ start: 2, end: 3, kind: 'comment' }]);
  });

  it('labels, numeric labels, prefixes with `/`, `. =`, `=` assignments', () => {
    const p = s('a: b: 1: cs rep/outsb\n. = 0x10\nX = 3 + a\n');
    assert.deepEqual(toks(p, 0), ['label:a@0', 'label:b@3', 'numlabel:1@6', 'prefix:cs@9', 'prefix:rep@12', 'mnemonic:outsb@16']);
    assert.deepEqual(toks(p, 1), ['number:0x10@4']);
    assert.deepEqual(toks(p, 2), ['const-def:X@0', 'number:3@4', 'symbol:a@8']);
    assert.deepEqual(p.defs.map((d) => `${d.kind}:${d.name}`), ['label:a', 'label:b', 'set:X']);
    assert.deepEqual([...p.numericDefs.keys()], ['1']);
  });

  it('numbers versus numeric label references (0b101, 1b, 10f, 0x1f)', () => {
    const p = s('jmp 1b; jmp 10f; movl $0b101, %eax; movl $0x1f, %eax\n');
    assert.deepEqual(toks(p, 0).filter((t) => /^num/.test(t)), ['numref:1b@4', 'numref:10f@12', 'number:0b101@23', 'number:0x1f@42']);
  });

  it('macros: parameters declared and used, generated labels, the body range', () => {
    const p = s('.macro isr n, code=0\nisr\\n: pushl $\\code\n.endm\nisr 3\n');
    assert.deepEqual(toks(p, 0), ['directive:.macro@0', 'macro-def:isr@7', 'param:nisr@11', 'param:codeisr@14']);
    assert.deepEqual(toks(p, 1), ['param:nisr@3', 'mnemonic:pushl@7', 'param:codeisr@14']);
    const macro = p.defs.find((d) => d.kind === 'macro');
    assert.deepEqual([macro?.params, macro?.body], [['n', 'code=0'], { start: 1, end: 1 }]);
    assert.deepEqual(p.generatedPrefixes, ['isr']);
    assert.equal(p.statements[1].scope, 'macro');
  });

  it('the preprocessor: #if regions by the build mode, inactive lines, function-like #defines, unknown conditions keep both branches', () => {
    const text = '#if KVM_GUEST_BITS == 64\nlong_only: nop\n#else\nshort: nop\n#endif\n#define F(a, b) ((a) + (b))\nmovl $F(1, 2), %eax\n#ifdef UNKNOWN_MODE\nx: nop\n#else\ny: nop\n#endif\n';
    const p = parseFile(text, {
      path: '/t/x.S', kind: 'asm-cpp',
      predefined: new Map([['KVM_GUEST_BITS', { name: 'KVM_GUEST_BITS', body: '16', file: '', line: 0 }]]),
      unknownDefines: new Set(['UNKNOWN_MODE']),
    });
    assert.deepEqual(p.inactive, [[1, 1]]);
    assert.deepEqual(p.defs.filter((d) => d.kind === 'label').map((d) => d.name), ['short', 'x', 'y']);
    const [x, y] = p.defs.filter((d) => d.name === 'x' || d.name === 'y');
    assert.notDeepEqual(x.cond, y.cond); // exclusive branches: never duplicates of each other
    assert.deepEqual(p.defines.get('F')?.params, ['a', 'b']);
    assert.deepEqual(toks(p, 6), ['mnemonic:movl@0', 'symbol:F@6', 'number:1@8', 'number:2@11', 'register:eax@15']);
  });

  it('Intel syntax: bare registers, keywords, OFFSET; back to AT&T', () => {
    const p = s('.intel_syntax noprefix\nmov eax, DWORD PTR [ebx+4*ecx]\nmov esi, OFFSET msg\n.att_syntax\nmovl %eax, %ebx\n');
    assert.deepEqual(toks(p, 1), ['mnemonic:mov@0', 'register:eax@4', 'keyword:DWORD@9', 'keyword:PTR@15', 'register:ebx@20', 'number:4@24', 'register:ecx@26']);
    assert.deepEqual(toks(p, 2), ['mnemonic:mov@0', 'register:esi@4', 'keyword:OFFSET@9', 'symbol:msg@16']);
    assert.deepEqual(toks(p, 4), ['mnemonic:movl@0', 'register:eax@5', 'register:ebx@11']);
    assert.deepEqual(p.statements.map((x) => x.syntax), ['att', 'intel', 'intel', 'intel', 'att']);
  });

  it('mode per statement follows .code16/.code32/.code64', () => {
    const p = s('nop\n.code16\nnop\n.code32; nop\n.code64\nnop\n');
    assert.deepEqual(p.statements.filter((x) => x.kind === 'instruction').map((x) => x.bits), [undefined, 16, 32, 64]);
    assert.equal(p.firstBits, 16);
  });

  it('a broken line costs nothing after it', () => {
    const p = s('mov %eax, (((( "unterminated\n)))) : : :\nnext: ret\n');
    assert.ok(p.defs.some((d) => d.name === 'next' && d.line === 2));
    assert.deepEqual(toks(p, 2), ['label:next@0', 'mnemonic:ret@6']);
  });
});

describe('instruction data', () => {
  const table = instructionTable();
  if (!table) throw new Error('iced-x86 did not load');
  const look = (w: string, syntax: 'att' | 'intel' = 'att'): string => {
    const m = lookupMnemonic(w, syntax, table);
    return m ? `${m.info.name}${m.size ? '/' + m.size : ''}${m.needs64 ? '/64' : ''}` : '-';
  };

  it('maps GAS spellings to iced mnemonics and suffix sizes', () => {
    assert.deepEqual(
      ['movl', 'outb', 'cltq', 'cwtl', 'jz', 'setnz', 'cmovnae', 'ljmp', 'lret', 'movzbl', 'movslq', 'iretl', 'stosl', 'fildll', 'sall', 'btl', 'movsd', 'frob'].map((w) => look(w)),
      ['mov/32', 'out/8', 'cdqe', 'cwde', 'je', 'setne', 'cmovb', 'jmp', 'retf', 'movzx', 'movsxd/64', 'iretd', 'stosd', 'fild', 'sal/32', 'bt/32', 'movsd', '-'],
    );
    assert.equal(look('movl', 'intel'), '-');
  });

  it('mode checks: what each mode lacks, nothing for what it has', () => {
    const problem = (w: string, bits: 16 | 32 | 64): string | undefined => {
      const m = lookupMnemonic(w, 'att', table);
      return m && modeProblem(w, m, bits);
    };
    assert.match(String(problem('iretq', 32)), /not valid in 32-bit code/);
    assert.match(String(problem('pushq', 16)), /no 64-bit operand form in 16-bit code/);
    assert.match(String(problem('pushl', 64)), /no 32-bit operand form in 64-bit code/);
    assert.match(String(problem('movzbq', 32)), /needs 64-bit operands/);
    assert.match(String(problem('pusha', 64)), /not valid in 64-bit code/);
    for (const ok of ['movl', 'pushl', 'iretw', 'lgdt', 'ljmp', 'outsb', 'rdmsr', 'movq']) assert.equal(problem(ok, 16), undefined, ok);
    for (const ok of ['movq', 'pushq', 'iretq', 'syscall', 'swapgs', 'lgdt', 'cltq']) assert.equal(problem(ok, 64), undefined, ok);
  });

  it('AT&T forms: reversed operands, `%` and `$`, size suffixes', () => {
    const forms = (name: string): string[] => (table.get(name)?.forms ?? []).map((f) => f.att);
    assert.ok(forms('mov').includes('movl r32, r/m32'));
    assert.ok(forms('out').includes('out %al, $imm8'));
    assert.ok(forms('jmp').includes('ljmpw $sel16, $off16'));
    assert.ok(forms('movzx').includes('movzbl r/m8, r32'));
    assert.ok(forms('enter').includes('enter $imm16, $imm8'));
  });
});

describe('workspace index', () => {
  it('a change in a header two includes away re-evaluates the including file; a new file resolves a waiting include', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-index-'));
    try {
      const w = (n: string, t: string): string => {
        fs.writeFileSync(path.join(dir, n), t);
        return path.join(dir, n);
      };
      const b = w('b.h', '#define V 1\n');
      w('a.h', '#include "b.h"\n#if V == 1\n#define W 10\n#else\n#define W 20\n#endif\n');
      const main = w('main.S', '#include "a.h"\n#include "late.h"\n        movl $W, %eax\n');
      const index = new WorkspaceIndex({ includePaths: () => [], defaultMode: () => undefined });
      assert.equal(index.get(main)?.defines.get('W')?.body, '10');
      index.update(b, '#define V 2\n', 1, true);
      assert.equal(index.get(main)?.defines.get('W')?.body, '20');
      assert.equal(index.get(main)?.includes[1].resolved, undefined);
      const late = w('late.h', '#define LATE 1\n');
      index.diskChanged(late);
      assert.equal(index.get(main)?.includes[1].resolved, late);
      assert.deepEqual(index.scope(main).map((f) => path.basename(f)), ['main.S', 'a.h', 'b.h', 'late.h']);
      assert.deepEqual(index.roots(late), [main]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
