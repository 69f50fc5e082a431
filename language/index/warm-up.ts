// A short parse of generated code when the server starts, while the client is still starting:
// the first real files are then parsed by compiled code instead of the interpreter.
import { parseFile } from '../parser/parse-file';

export function warmUpParser(lines = 1500): void {
  const out: string[] = ['#include "none.h"', '#define WARM 1', '#if WARM', '#endif', '.macro M a, b=1', '  movl $\\a, %eax', '.endm', '.code32', '.text'];
  for (let i = 0; out.length < lines; i++) {
    out.push(
      `f${i}:`, `  movl $C${i % 50}, %eax   # c`, '1: decl %eax', '  jnz 1b', `  M ${i}, X`, `  call f${i % 20}`,
      '  cmpl $1, (%ebx,%ecx,4) ; je 2f', `  leal d${i % 3}(%ebx), %esi /* x */`, '2: ret', `d${i}: .long ${i}, f0`,
    );
  }
  out.push('.intel_syntax noprefix', 'mov eax, DWORD PTR [ebx+4]', '.att_syntax');
  parseFile(out.join('\n'), { path: '/warm-up.S', kind: 'asm-cpp' });
}
