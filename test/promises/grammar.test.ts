// README, "The editor knows guest code": "GNU as x86 highlighting (AT&T and Intel syntax, directives,
// registers, numeric local labels, `;` separators, every comment form, cpp lines)".
// The grammar VS Code uses is the one package.json contributes (syntaxes/gas-x86.tmLanguage.json);
// these tests tokenise sample lines with VS Code's own TextMate engine (vscode-textmate on the
// Oniguruma regex library VS Code ships, vscode-oniguruma) and check the scopes a user sees. The
// expected scopes are the TextMate naming conventions themes colour (comment.*, string.*,
// constant.numeric.*, keyword.*, variable.language.*, entity.name.*), not read back from the grammar.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';
import { ROOT } from '../helpers/cli';

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contribution: { language: string; scopeName: string; path: string } = manifest.contributes.grammars[0];
const grammarPath = path.join(ROOT, contribution.path);

interface Token {
  text: string;
  scopes: string[];
}

let grammar: vsctm.IGrammar;

/** Tokenises `lines` in order (state carried from line to line, as the editor does). */
function tokenize(...lines: string[]): Token[][] {
  let state = vsctm.INITIAL;
  const out: Token[][] = [];
  for (const line of lines) {
    const r = grammar.tokenizeLine(line, state);
    out.push(r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes })));
    state = r.ruleStack;
  }
  return out;
}

/**
 * The scopes of the characters of `needle` in `line` (the `nth` occurrence): every token that
 * overlaps it must carry a scope starting with `scope` (a TextMate prefix, e.g. "comment.line").
 */
function assertScope(line: string | Token[], needle: string, scope: string, nth = 0, context?: string): void {
  const toks = typeof line === 'string' ? tokenize(line)[0] : line;
  const text = toks.map((t) => t.text).join('');
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `'${needle}' not in '${text}'`);
  }
  let pos = 0;
  const seen: string[] = [];
  for (const t of toks) {
    const start = pos;
    pos += t.text.length;
    if (pos <= at || start >= at + needle.length) continue;
    seen.push(`'${t.text}': ${t.scopes.join(' ')}`);
    const ok = t.scopes.some((s) => s === scope || s.startsWith(scope + '.'));
    assert.ok(ok, `in '${context ?? text}', '${needle}' should be ${scope}; tokens:\n  ${seen.join('\n  ')}`);
  }
  assert.ok(seen.length > 0, `no token covers '${needle}'`);
}

/** `needle` carries none of the scopes starting with any of `scopes`. */
function assertNotScope(line: string, needle: string, scopes: string[]): void {
  const toks = tokenize(line)[0];
  const at = line.indexOf(needle);
  assert.ok(at >= 0);
  let pos = 0;
  for (const t of toks) {
    const start = pos;
    pos += t.text.length;
    if (pos <= at || start >= at + needle.length) continue;
    for (const s of scopes) {
      assert.ok(!t.scopes.some((x) => x === s || x.startsWith(s + '.')), `in '${line}', '${t.text}' should not be ${s}: ${t.scopes.join(' ')}`);
    }
  }
}

describe('README promise: the gas-x86 TextMate grammar, tokenised by vscode-textmate', function () {
  before(async function () {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer);
    const registry = new vsctm.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (s: string) => new oniguruma.OnigString(s),
      }),
      loadGrammar: async (scopeName: string) =>
        scopeName === contribution.scopeName ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath) : null,
    });
    const g = await registry.loadGrammar(contribution.scopeName);
    assert.ok(g, `package.json's grammar ${contribution.path} loads as ${contribution.scopeName}`);
    grammar = g;
  });

  it('is the file package.json contributes for gas-x86, and every regular expression in it compiles in Oniguruma', function () {
    assert.equal(contribution.language, 'gas-x86');
    const raw = JSON.parse(fs.readFileSync(grammarPath, 'utf8'));
    assert.equal(raw.scopeName, contribution.scopeName);
    const regexes: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if ((k === 'match' || k === 'begin' || k === 'end' || k === 'while') && typeof v === 'string') regexes.push(v);
          else walk(v);
        }
      }
    };
    walk(raw);
    assert.ok(regexes.length > 20, `${regexes.length} regular expressions found`);
    for (const re of regexes) {
      // OnigScanner throws on a pattern Oniguruma rejects.
      assert.doesNotThrow(() => new oniguruma.OnigScanner([re]).dispose(), `does not compile: ${re}`);
    }
  });

  it('AT&T instructions: mnemonics, %registers, $immediates in hex, decimal and binary, characters', function () {
    const line = '\tmovq %rax, %cr0';
    assertScope(line, 'movq', 'keyword.instruction');
    assertScope(line, '%rax', 'variable.language.register');
    assertScope(line, '%cr0', 'variable.language.register');
    const l2 = '  mov $0x2A, %eax';
    assertScope(l2, 'mov', 'keyword.instruction');
    assertScope(l2, '$0x2A', 'constant.numeric');
    assertScope(l2, '%eax', 'variable.language.register');
    assertScope('  addl $42, %ebx', '$42', 'constant.numeric');
    assertScope('  orb $0b1010, %al', '$0b1010', 'constant.numeric');
    assertScope('  orb $0b1010, %al', '%al', 'variable.language.register');
    assertScope("  movb $'A', %al", "$'A'", 'constant.character');
    assertScope('  movl 8(%rbp,%rsi,4), %r10d', '%rbp', 'variable.language.register');
    assertScope('  movl 8(%rbp,%rsi,4), %r10d', '%r10d', 'variable.language.register');
    assertScope('  movl 8(%rbp,%rsi,4), %r10d', '8', 'constant.numeric');
    assertScope('  mov %cs:0x10, %ax', '%cs', 'variable.language.register');
    assertScope('  movdqa %xmm15, %xmm0', '%xmm15', 'variable.language.register');
    assertScope('  lgdt gdt_descriptor', 'lgdt', 'keyword.instruction');
    assertScope('  lgdt gdt_descriptor', 'gdt_descriptor', 'variable.other');
    assertScope('  ljmp $0x08, $start32', 'ljmp', 'keyword.instruction');
    assertScope('  rep movsb', 'rep', 'keyword.other.prefix');
    assertScope('  rep movsb', 'movsb', 'keyword.instruction');
    assertScope('  lock incl (%rdi)', 'lock', 'keyword.other.prefix');
    assertScope('  lock incl (%rdi)', 'incl', 'keyword.instruction');
    assertScope('  data32 lgdt gdt_descriptor', 'lgdt', 'keyword.instruction');
    assertScope('  repne scasb', 'scasb', 'keyword.instruction');
  });

  it('Intel syntax: .intel_syntax noprefix, bare registers, size ptr', function () {
    assertScope('.intel_syntax noprefix', '.intel_syntax', 'keyword.control.directive');
    const line = '  mov eax, dword ptr [ebx + 4]';
    assertScope(line, 'mov', 'keyword.instruction');
    assertScope(line, 'eax', 'variable.language.register');
    assertScope(line, 'ebx', 'variable.language.register');
    assertScope(line, 'dword ptr', 'storage.type');
    assertScope(line, '4', 'constant.numeric');
    assertScope('  mov al, 0FFh', '0FFh', 'constant.numeric');
    assertScope('.att_syntax', '.att_syntax', 'keyword.control.directive');
  });

  it('every comment form: #, //, /* */ (also across lines and before code), and not in strings', function () {
    assertScope('# a whole-line comment', '# a whole-line comment', 'comment.line');
    const trailing = '  movl %eax, %ebx # copy %eax';
    assertScope(trailing, '# copy %eax', 'comment.line');
    assertScope(trailing, '%ebx', 'variable.language.register');
    assertScope('  hlt // stop here', '// stop here', 'comment.line');
    assertScope('/* block */ nop', '/* block */', 'comment.block');
    assertScope('/* block */ nop', 'nop', 'keyword.instruction');
    assertScope('  cli /* no interrupts */', '/* no interrupts */', 'comment.block');
    const [first, second, third] = tokenize('/* a comment', '   movl %eax, %ebx still inside', '*/ hlt');
    assertScope(first, 'a comment', 'comment.block');
    assertScope(second, 'movl %eax, %ebx still inside', 'comment.block', 0, 'line 2 of a /* */ comment');
    assertNotScopeTokens(second, 'movl', 'keyword.instruction');
    assertScope(third, 'hlt', 'keyword.instruction');
    assertNotScope('  .ascii "# not a comment"', '# not', ['comment']);
  });

  it('directives: .code16/.code32/.code64, .section, .globl, .equ/.set/=, .macro', function () {
    for (const d of ['.code16', '.code32', '.code64']) assertScope(d, d, 'keyword.control.directive');
    assertScope('  .section .text.boot, "ax"', '.section', 'keyword.control.directive');
    assertScope('  .section .text.boot, "ax"', '"ax"', 'string.quoted');
    assertScope('.globl _start', '.globl', 'keyword.control.directive');
    assertScope('.equ PORT, 0xF1', '.equ', 'keyword.control.directive');
    assertScope('.equ PORT, 0xF1', 'PORT', 'entity.name.constant');
    assertScope('.equ PORT, 0xF1', '0xF1', 'constant.numeric');
    assertScope('COUNT = 16', 'COUNT', 'entity.name.constant');
    assertScope('COUNT = 16', '=', 'keyword.operator');
    assertScope('.macro outb port, value', '.macro', 'keyword.control.directive');
    assertScope('.macro outb port, value', 'outb', 'entity.name.function');
    assertScope('.macro outb port, value', 'value', 'variable.parameter');
    assertScope('  .org 0x1FE', '0x1FE', 'constant.numeric');
  });

  it('labels, numeric local labels and their 1f/1b references', function () {
    assertScope('_start:', '_start', 'entity.name.function');
    assertScope('.Lloop: dec %ecx', '.Lloop', 'entity.name');
    assertScope('.Lloop: dec %ecx', 'dec', 'keyword.instruction');
    assertScope('1:  hlt', '1', 'entity.name.label');
    assertScope('1:  hlt', 'hlt', 'keyword.instruction');
    assertScope('  jmp 1b', '1b', 'entity.name.label');
    assertScope('  jnz 2f', '2f', 'entity.name.label');
    assertNotScope('  jnz 2f', '2f', ['constant.numeric']);
    assertScope('start32: .code32', '.code32', 'keyword.control.directive');
  });

  it('; separates statements: each gets its own mnemonic', function () {
    const line = '  cli; hlt; jmp 1b';
    assertScope(line, 'cli', 'keyword.instruction');
    assertScope(line, ';', 'punctuation.separator');
    assertScope(line, 'hlt', 'keyword.instruction');
    assertScope(line, 'jmp', 'keyword.instruction');
    assertScope(line, '1b', 'entity.name.label');
  });

  it('strings with escapes', function () {
    const line = 'msg: .asciz "Hello, World!\\n"';
    assertScope(line, 'msg', 'entity.name.function');
    assertScope(line, '.asciz', 'keyword.control.directive');
    assertScope(line, '"Hello, World!\\n"', 'string.quoted.double');
    assertScope(line, '\\n', 'constant.character.escape');
    assertScope('  .ascii "a\\"b"', 'b"', 'string.quoted.double');
  });

  it('C preprocessor lines: #include, #define, #if/#ifdef/#endif, line markers — not comments', function () {
    const inc = '#include "kvm-guest.h"';
    assertScope(inc, '#include', 'keyword.control.directive');
    assertScope(inc, '"kvm-guest.h"', 'string');
    assertNotScope(inc, '#include', ['comment']);
    assertScope('#include <asm/boot.h>', '<asm/boot.h>', 'string');
    const def = '#define PORT 0xF1';
    assertScope(def, '#define', 'keyword.control.directive');
    assertScope(def, 'PORT', 'entity.name');
    assertScope(def, '0xF1', 'constant.numeric');
    assertNotScope(def, 'PORT', ['comment']);
    assertScope('#define OUT(p, v) movb $v, %al', '(p, v)', 'variable.parameter');
    assertScope('#ifdef __x86_64__', '#ifdef', 'keyword.control.directive');
    assertScope('#if defined(DEBUG) && DEBUG > 1', 'defined', 'keyword.operator');
    assertScope('#if defined(DEBUG) && DEBUG > 1', '1', 'constant.numeric');
    assertScope('  # endif', '# endif', 'keyword.control.directive');
    assertScope('# 1 "hello.S"', '# 1 "hello.S"', 'comment');
    // A '#' comment that merely starts with a cpp word is still a comment.
    assertScope('# includes are resolved next to the file', '# includes', 'comment.line');
  });
});

function assertNotScopeTokens(toks: Token[], needle: string, scope: string): void {
  const text = toks.map((t) => t.text).join('');
  const at = text.indexOf(needle);
  let pos = 0;
  for (const t of toks) {
    const start = pos;
    pos += t.text.length;
    if (pos <= at || start >= at + needle.length) continue;
    assert.ok(!t.scopes.some((s) => s === scope || s.startsWith(scope + '.')), `'${t.text}' inside a comment should not be ${scope}`);
  }
}
