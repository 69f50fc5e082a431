// Spells an iced (Intel) instruction form the GNU AT&T way: suffix, reversed operands, `%` and `$`.

const SUFFIX: Record<number, string> = { 8: 'b', 16: 'w', 32: 'l', 64: 'q' };

// Intel names GAS spells differently in AT&T syntax (the no-operand size forms and sign/zero moves).
const ATT_NAMES: Record<string, string> = {
  cbw: 'cbtw', cwde: 'cwtl', cdqe: 'cltq', cwd: 'cwtd', cdq: 'cltd', cqo: 'cqto',
  pushfd: 'pushfl', popfd: 'popfl', pushad: 'pushal', popad: 'popal', iretd: 'iretl',
  stosd: 'stosl', lodsd: 'lodsl', scasd: 'scasl', insd: 'insl', outsd: 'outsl', retf: 'lret',
};

const EXPLICIT_REGISTER = /^(?:AL|AH|AX|EAX|RAX|BL|BX|EBX|CL|CX|ECX|RCX|DL|DX|EDX|SI|ESI|RSI|DI|EDI|RDI|ES|CS|SS|DS|FS|GS|ST\(0\)|XMM0|CR8)$/;

function attOperand(op: string): string {
  if (EXPLICIT_REGISTER.test(op)) return '%' + op.toLowerCase();
  if (/^imm/.test(op)) return '$' + op;
  if (op === 'Sreg') return '%sreg';
  if (op === 'cr') return '%crN';
  if (op === 'dr') return '%drN';
  if (op === 'tr') return '%trN';
  if (/^ST\(i\)$/.test(op)) return '%st(i)';
  if (op === '1') return '$1';
  return op;
}

function regSizeLetter(op: string): string | undefined {
  const m = /(?:^|\/)r(?:\/m)?(8|16|32|64)$|^m(8|16|32|64)$/.exec(op);
  const n = m ? Number(m[1] ?? m[2]) : undefined;
  return n ? SUFFIX[n] : undefined;
}

/** The AT&T spelling of one form, e.g. `mov` + [r/m32, r32] → `movl r32, r/m32`. */
export function attForm(name: string, operands: readonly string[], size: number | undefined, encoding: string): string {
  let mnemonic = ATT_NAMES[name] ?? name;
  let ops = operands.map(attOperand);
  if ((name === 'movzx' || name === 'movsx' || name === 'movsxd') && operands.length === 2) {
    const dst = regSizeLetter(operands[0]);
    const src = regSizeLetter(operands[1]);
    mnemonic = name === 'movzx' ? 'movz' : 'movs';
    if (src && dst) mnemonic += src + dst;
  } else if (operands.length === 1 && /^ptr16:(16|32)$/.test(operands[0]) && (name === 'jmp' || name === 'call')) {
    // Far direct: `ljmp $selector, $offset`.
    return `l${name}${operands[0].endsWith('32') ? 'l' : 'w'} $sel16, $off${operands[0].slice(6)}`;
  } else if (operands.length === 1 && /^m16:(16|32|64)$/.test(operands[0]) && (name === 'jmp' || name === 'call')) {
    return `l${name}${SUFFIX[Number(operands[0].slice(4))]} *${operands[0]}`;
  } else if (encoding === 'legacy' && size !== undefined && operands.length > 0 && !ATT_NAMES[name]) {
    // A suffix only where the operands leave the size open (memory or immediate only).
    const sized = operands.some((o) => /^(?:r\/m|m|imm|moffs)\d|^rel/.test(o)) || operands.every((o) => !/^r\d|^[A-Z]{2,3}$/.test(o));
    if (sized && !/^(?:j|loop|call|ret|int|enter|in|out|lgdt|lidt|sgdt|sidt)/.test(name)) mnemonic += SUFFIX[size];
  }
  if ((name === 'jmp' || name === 'call') && operands.length === 1 && /^r\/m/.test(operands[0])) ops = ['*' + operands[0]];
  // AT&T reverses the operands; `enter` keeps its two immediates in Intel order.
  if (name !== 'enter') ops = ops.slice().reverse();
  return ops.length > 0 ? `${mnemonic} ${ops.join(', ')}` : mnemonic;
}

/** Intel form in lower case for display in Intel syntax: `mov r/m32, r32`. */
export function intelForm(intel: string): string {
  const space = intel.indexOf(' ');
  return space < 0 ? intel.toLowerCase() : intel.slice(0, space).toLowerCase() + intel.slice(space);
}
