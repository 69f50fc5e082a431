// Sample sources for the language-server tests, written to a temporary folder: a `.S` file with a
// header and a `.include`d macro file, numeric labels, Intel syntax, mode switches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lsp-client';

export const DEFS_H = `/* defs.h - shared constants */
#ifndef DEFS_H
#define DEFS_H

#define PORT      0x64        /* keyboard controller status */
#define READY     0x02
#define STACK_TOP 0x7c00
#define SCALE(x)  ((x) * 4)

#if KVM_GUEST_BITS == 64
#define WORD_SIZE 8
#else
#define WORD_SIZE 4
#endif

#endif
`;

export const MACROS_INC = `# macros.inc - included with .include
.macro SETUP_STACK top
        movw    $\\top, %sp
        movw    %sp, %bp
.endm

.macro PUTC ch, port=0xe9
        movb    $\\ch, %al
        outb    %al, $\\port
.endm
`;

export const MAIN_S = `// main.S - sample guest for the language server tests
#include "defs.h"
.include "macros.inc"

        .code16
        .section .start, "ax"
        .globl  _start
_start:
        cli
        SETUP_STACK STACK_TOP
1:      inb     $PORT, %al
        testb   $READY, %al
        jz      1b
        jmp     1f
        nop
1:      lgdt    gdt_desc
        PUTC    'A'
        movl    $WORD_SIZE, %eax
        movw    $SCALE(3), %cx
        rep stosb
        hlt

        .code32
pm_entry:
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        iretq
        movq    %rax, %rbx
        jmp     pm_entry

        .section .rodata
        .equ    GDT_LIMIT, 3 * 8 - 1
gdt_desc:
        .word   GDT_LIMIT
        .long   gdt
gdt:
        .quad   0
`;

export const INTEL_S = `# intel.s - Intel syntax in 64-bit code
        .intel_syntax noprefix
        .code64
        .text
        .globl  entry
entry:
        mov     rax, QWORD PTR [rip + value]
        lea     rsi, [rax + 8*rcx + 16]
        xor     eax, eax
2:      dec     ecx
        jnz     2b
        mov     rdi, OFFSET value
        ret
        .att_syntax prefix
        movq    %rax, %rbx
        .data
value:  .quad   42
`;

export interface Sample {
  dir: string;
  main: string;
  defs: string;
  macros: string;
  intel: string;
}

export function writeSample(): Sample {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-sample-'));
  const w = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  return { dir, defs: w('defs.h', DEFS_H), macros: w('macros.inc', MACROS_INC), main: w('main.S', MAIN_S), intel: w('intel.s', INTEL_S) };
}

/**
 * A generated project of about `lines` lines: one root that includes a header of constants, a
 * file of macros and `parts` part files, each full of labels, numeric labels and calls.
 */
export function writeProject(lines: number, parts = 19): { dir: string; root: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-bench-'));
  const files: string[] = [];
  const w = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    files.push(p);
    return p;
  };
  const header: string[] = ['#ifndef CONSTS_H', '#define CONSTS_H'];
  for (let i = 0; i < 200; i++) header.push(`#define CONST_${i} ${i * 16}    /* constant ${i} */`);
  header.push('#endif');
  w('consts.h', header.join('\n') + '\n');
  const macros: string[] = [];
  for (let i = 0; i < 50; i++) macros.push(`.macro M${i} a, b=${i}`, '        movl    $\\a, %eax', '        addl    $\\b, %eax', '.endm', '');
  w('macros.inc', macros.join('\n'));
  const perPart = Math.max(10, Math.floor((lines - 200 - 250 - 40) / parts));
  for (let p = 0; p < parts; p++) {
    const out: string[] = [`/* part${p}.S */`, '        .text'];
    let n = 0;
    while (out.length < perPart) {
      out.push(`part${p}_fn${n}:`);
      out.push(`        movl    $CONST_${(n * 7) % 200}, %eax`);
      out.push('1:      decl    %eax');
      out.push('        jnz     1b');
      out.push(`        M${n % 50} ${n}, CONST_${n % 200}`);
      out.push(`        call    part${(p + 1) % parts}_fn${n % 5}`);
      out.push(`        cmpl    $${n}, %ecx     # compare`);
      out.push('        je      2f');
      out.push(`        leal    part${p}_data${n % 3}(%ebx), %esi`);
      out.push('2:      ret');
      n++;
    }
    for (let d = 0; d < 3; d++) out.push(`part${p}_data${d}: .long ${d}, part${p}_fn0`);
    w(`part${p}.S`, out.join('\n') + '\n');
  }
  const root: string[] = ['#include "consts.h"', '.include "macros.inc"', '        .code32', '        .section .start, "ax"', '        .globl _start', '_start:'];
  for (let p = 0; p < parts; p++) root.push(`        call    part${p}_fn0`);
  root.push('        hlt');
  for (let p = 0; p < parts; p++) root.push(`#include "part${p}.S"`);
  const main = w('main.S', root.join('\n') + '\n');
  return { dir, root: main, files };
}

/** The real-world corpus (test/lsp/corpus, see its MANIFEST.md) and its compilation database. */
export const CORPUS = path.join(ROOT, 'test', 'lsp', 'corpus');

export interface CorpusEntry {
  directory: string;
  file: string;
  arguments?: string[];
  command?: string;
}

/** The corpus's assembler sources (`.S`/`.s` entries of its compile_commands.json), in its order. */
export function corpusSources(): CorpusEntry[] {
  return (JSON.parse(fs.readFileSync(path.join(CORPUS, 'compile_commands.json'), 'utf8')) as CorpusEntry[]).filter((e) => /\.(S|s)$/.test(e.file));
}
