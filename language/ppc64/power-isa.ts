// What the language server knows of POWER assembly (GNU as, -mpower8): the common integer,
// branch, load/store, compare, rotate, special-register and system instructions, with operands and
// a one-line summary in our own words, and the registers. The full definitions are the Power ISA's
// (OpenPOWER Foundation): hovers link there rather than repeat it.

export const POWER_ISA_URL = 'https://openpowerfoundation.org/specifications/isa/';

export interface PowerInstruction {
  mnemonic: string;
  operands: string;
  summary: string;
  /** Extended mnemonic (an assembler spelling of another instruction). */
  extendedOf?: string;
}

const I = (mnemonic: string, operands: string, summary: string, extendedOf?: string): PowerInstruction => ({ mnemonic, operands, summary, extendedOf });

export const POWER_INSTRUCTIONS: readonly PowerInstruction[] = [
  // integer arithmetic
  I('li', 'RT,SI', 'load a signed 16-bit immediate into RT', 'addi RT,0,SI'),
  I('lis', 'RT,SI', 'load a 16-bit immediate into the upper half of RT\'s low word (SI << 16)', 'addis RT,0,SI'),
  I('la', 'RT,D(RA)', 'load the address D + (RA) into RT', 'addi RT,RA,D'),
  I('mr', 'RA,RS', 'copy RS to RA', 'or RA,RS,RS'),
  I('addi', 'RT,RA,SI', 'RT = (RA|0) + signed immediate'),
  I('addis', 'RT,RA,SI', 'RT = (RA|0) + (signed immediate << 16)'),
  I('addic', 'RT,RA,SI', 'RT = RA + signed immediate, setting XER[CA]'),
  I('add', 'RT,RA,RB', 'RT = RA + RB'),
  I('subf', 'RT,RA,RB', 'RT = RB - RA (subtract from)'),
  I('sub', 'RT,RA,RB', 'RT = RA - RB', 'subf RT,RB,RA'),
  I('subi', 'RT,RA,SI', 'RT = RA - immediate', 'addi RT,RA,-SI'),
  I('subfic', 'RT,RA,SI', 'RT = immediate - RA, setting XER[CA]'),
  I('neg', 'RT,RA', 'RT = -RA'),
  I('mullw', 'RT,RA,RB', 'RT = the 64-bit product of the signed low words of RA and RB'),
  I('mulld', 'RT,RA,RB', 'RT = low 64 bits of RA × RB'),
  I('mulli', 'RT,RA,SI', 'RT = RA × signed immediate (low 64 bits)'),
  I('mulhw', 'RT,RA,RB', 'RT = high 32 bits of the signed product of the low words'),
  I('mulhd', 'RT,RA,RB', 'RT = high 64 bits of the signed 128-bit product'),
  I('divw', 'RT,RA,RB', 'RT = signed low word of RA ÷ low word of RB'),
  I('divwu', 'RT,RA,RB', 'RT = unsigned low word of RA ÷ low word of RB'),
  I('divd', 'RT,RA,RB', 'RT = signed RA ÷ RB'),
  I('divdu', 'RT,RA,RB', 'RT = unsigned RA ÷ RB'),
  I('extsb', 'RA,RS', 'sign-extend the low byte of RS into RA'),
  I('extsh', 'RA,RS', 'sign-extend the low halfword of RS into RA'),
  I('extsw', 'RA,RS', 'sign-extend the low word of RS into RA'),
  // logical, shifts, rotates
  I('and', 'RA,RS,RB', 'RA = RS & RB'),
  I('andi.', 'RA,RS,UI', 'RA = RS & unsigned immediate, setting CR0'),
  I('andis.', 'RA,RS,UI', 'RA = RS & (unsigned immediate << 16), setting CR0'),
  I('or', 'RA,RS,RB', 'RA = RS | RB'),
  I('ori', 'RA,RS,UI', 'RA = RS | unsigned immediate'),
  I('oris', 'RA,RS,UI', 'RA = RS | (unsigned immediate << 16)'),
  I('xor', 'RA,RS,RB', 'RA = RS ^ RB'),
  I('xori', 'RA,RS,UI', 'RA = RS ^ unsigned immediate'),
  I('xoris', 'RA,RS,UI', 'RA = RS ^ (unsigned immediate << 16)'),
  I('nor', 'RA,RS,RB', 'RA = ~(RS | RB)'),
  I('not', 'RA,RS', 'RA = ~RS', 'nor RA,RS,RS'),
  I('nand', 'RA,RS,RB', 'RA = ~(RS & RB)'),
  I('andc', 'RA,RS,RB', 'RA = RS & ~RB'),
  I('slw', 'RA,RS,RB', 'shift the low word of RS left by RB'),
  I('srw', 'RA,RS,RB', 'shift the low word of RS right (logical) by RB'),
  I('sraw', 'RA,RS,RB', 'shift the low word of RS right (arithmetic) by RB'),
  I('srawi', 'RA,RS,SH', 'shift the low word of RS right (arithmetic) by SH'),
  I('sld', 'RA,RS,RB', 'shift RS left by RB'),
  I('srd', 'RA,RS,RB', 'shift RS right (logical) by RB'),
  I('srad', 'RA,RS,RB', 'shift RS right (arithmetic) by RB'),
  I('sradi', 'RA,RS,SH', 'shift RS right (arithmetic) by SH'),
  I('rlwinm', 'RA,RS,SH,MB,ME', 'rotate the low word of RS left by SH, then AND with the mask MB..ME'),
  I('rlwimi', 'RA,RS,SH,MB,ME', 'rotate the low word left and insert it into RA under the mask MB..ME'),
  I('rldicl', 'RA,RS,SH,MB', 'rotate RS left by SH and clear the bits left of MB'),
  I('rldicr', 'RA,RS,SH,ME', 'rotate RS left by SH and clear the bits right of ME'),
  I('slwi', 'RA,RS,n', 'shift the low word left by an immediate', 'rlwinm RA,RS,n,0,31-n'),
  I('srwi', 'RA,RS,n', 'shift the low word right by an immediate', 'rlwinm RA,RS,32-n,n,31'),
  I('sldi', 'RA,RS,n', 'shift left by an immediate', 'rldicr RA,RS,n,63-n'),
  I('srdi', 'RA,RS,n', 'shift right by an immediate', 'rldicl RA,RS,64-n,n'),
  I('clrldi', 'RA,RS,n', 'clear the n high-order bits', 'rldicl RA,RS,0,n'),
  // compare
  I('cmpw', '[BF,]RA,RB', 'compare the signed low words, result in a CR field (CR0 by default)'),
  I('cmpwi', '[BF,]RA,SI', 'compare the signed low word with an immediate'),
  I('cmplw', '[BF,]RA,RB', 'compare the unsigned low words'),
  I('cmplwi', '[BF,]RA,UI', 'compare the unsigned low word with an immediate'),
  I('cmpd', '[BF,]RA,RB', 'compare signed doublewords'),
  I('cmpdi', '[BF,]RA,SI', 'compare a signed doubleword with an immediate'),
  I('cmpld', '[BF,]RA,RB', 'compare unsigned doublewords'),
  I('cmpldi', '[BF,]RA,UI', 'compare an unsigned doubleword with an immediate'),
  // loads and stores
  I('lbz', 'RT,D(RA)', 'load a byte, zero-extended'),
  I('lhz', 'RT,D(RA)', 'load a halfword, zero-extended'),
  I('lha', 'RT,D(RA)', 'load a halfword, sign-extended'),
  I('lwz', 'RT,D(RA)', 'load a word, zero-extended'),
  I('lwa', 'RT,DS(RA)', 'load a word, sign-extended'),
  I('ld', 'RT,DS(RA)', 'load a doubleword'),
  I('lbzx', 'RT,RA,RB', 'load a byte from RA + RB'),
  I('lwzx', 'RT,RA,RB', 'load a word from RA + RB'),
  I('ldx', 'RT,RA,RB', 'load a doubleword from RA + RB'),
  I('stb', 'RS,D(RA)', 'store the low byte of RS'),
  I('sth', 'RS,D(RA)', 'store the low halfword of RS'),
  I('stw', 'RS,D(RA)', 'store the low word of RS'),
  I('std', 'RS,DS(RA)', 'store RS (doubleword)'),
  I('stwu', 'RS,D(RA)', 'store a word and update RA with the address'),
  I('stdu', 'RS,DS(RA)', 'store a doubleword and update RA with the address (stack frames)'),
  I('stbx', 'RS,RA,RB', 'store a byte at RA + RB'),
  I('stwx', 'RS,RA,RB', 'store a word at RA + RB'),
  I('stdx', 'RS,RA,RB', 'store a doubleword at RA + RB'),
  // branches
  I('b', 'target', 'branch (relative)'),
  I('ba', 'target', 'branch to an absolute address'),
  I('bl', 'target', 'branch and link: LR = the next instruction (a call)'),
  I('bla', 'target', 'branch to an absolute address and link'),
  I('blr', '', 'branch to LR (return)', 'bclr 20,0'),
  I('bctr', '', 'branch to CTR', 'bcctr 20,0'),
  I('bctrl', '', 'branch to CTR and link (an indirect call)', 'bcctrl 20,0'),
  I('bc', 'BO,BI,target', 'branch conditionally on CR bit BI as BO says'),
  I('bclr', 'BO,BI', 'branch conditionally to LR'),
  I('bcctr', 'BO,BI', 'branch conditionally to CTR'),
  I('beq', '[CRn,]target', 'branch if equal (CR EQ set)', 'bc 12,4*n+2,target'),
  I('bne', '[CRn,]target', 'branch if not equal', 'bc 4,4*n+2,target'),
  I('blt', '[CRn,]target', 'branch if less than', 'bc 12,4*n,target'),
  I('bgt', '[CRn,]target', 'branch if greater than', 'bc 12,4*n+1,target'),
  I('ble', '[CRn,]target', 'branch if less than or equal', 'bc 4,4*n+1,target'),
  I('bge', '[CRn,]target', 'branch if greater than or equal', 'bc 4,4*n,target'),
  I('bdnz', 'target', 'decrement CTR, branch if it is not zero (loops)', 'bc 16,0,target'),
  I('bdz', 'target', 'decrement CTR, branch if it is zero', 'bc 18,0,target'),
  // special registers
  I('mflr', 'RT', 'copy LR to RT', 'mfspr RT,8'),
  I('mtlr', 'RS', 'copy RS to LR', 'mtspr 8,RS'),
  I('mfctr', 'RT', 'copy CTR to RT', 'mfspr RT,9'),
  I('mtctr', 'RS', 'copy RS to CTR', 'mtspr 9,RS'),
  I('mfxer', 'RT', 'copy XER to RT', 'mfspr RT,1'),
  I('mtxer', 'RS', 'copy RS to XER', 'mtspr 1,RS'),
  I('mfcr', 'RT', 'copy CR to RT'),
  I('mtcrf', 'FXM,RS', 'copy fields of RS to CR as the mask FXM says'),
  I('mfspr', 'RT,SPR', 'copy a special-purpose register to RT'),
  I('mtspr', 'SPR,RS', 'copy RS to a special-purpose register'),
  I('mfmsr', 'RT', 'copy the MSR to RT (privileged)'),
  I('mtmsr', 'RS[,L]', 'write the MSR\'s low word from RS (privileged)'),
  I('mtmsrd', 'RS[,L]', 'write the MSR from RS (privileged)'),
  // system
  I('sc', '[LEV]', 'system call: a System Call interrupt'),
  I('rfid', '', 'return from interrupt: MSR from SRR1, PC from SRR0 (privileged)'),
  I('hrfid', '', 'return from a hypervisor interrupt: MSR from HSRR1, PC from HSRR0'),
  I('trap', '', 'trap unconditionally: a Program interrupt', 'tw 31,0,0'),
  I('tw', 'TO,RA,RB', 'trap if the word comparison TO holds'),
  I('twi', 'TO,RA,SI', 'trap if the word comparison with an immediate holds'),
  I('td', 'TO,RA,RB', 'trap if the doubleword comparison holds'),
  I('tdi', 'TO,RA,SI', 'trap if the doubleword comparison with an immediate holds'),
  I('nop', '', 'no operation', 'ori 0,0,0'),
  I('isync', '', 'instruction synchronize: later instructions are fetched after earlier ones complete'),
  I('sync', '[L]', 'order memory accesses (heavyweight barrier)'),
  I('lwsync', '', 'lightweight memory barrier', 'sync 1'),
  I('eieio', '', 'order accesses to device (caching-inhibited) memory'),
  I('attn', '', 'processor attention (stops the core on some implementations; no effect defined by the ISA)'),
];

export const POWER_BY_MNEMONIC: ReadonlyMap<string, PowerInstruction> = new Map(POWER_INSTRUCTIONS.map((i) => [i.mnemonic, i]));

export interface PowerRegister {
  name: string;
  summary: string;
  /** How GNU as (without -mregnames) takes it as an operand: `%r3`, `%f1`, `cr1`; none for lr/ctr/xer/msr. */
  operand?: string;
}

/**
 * GNU as takes bare numbers (the seed's `li 16,8`), `%r3`/`%f1`, and `cr1`; a plain `r3` needs
 * -mregnames (without it, as reads `r3` as a symbol: "unsupported relocation against r3"). lr, ctr,
 * xer and msr are named by their instructions (mflr, mtctr…), not written as operands.
 */
export const POWER_REGISTERS: readonly PowerRegister[] = [
  ...Array.from({ length: 32 }, (_, i) => ({
    name: `r${i}`,
    operand: `%r${i}`,
    summary: `general-purpose register ${i}${i === 1 ? ' (stack pointer by convention)' : i === 2 ? ' (TOC pointer by convention)' : i === 3 ? ' (first argument / return value by convention)' : ''}`,
  })),
  ...Array.from({ length: 32 }, (_, i) => ({ name: `f${i}`, operand: `%f${i}`, summary: `floating-point register ${i}` })),
  ...Array.from({ length: 8 }, (_, i) => ({ name: `cr${i}`, operand: `cr${i}`, summary: `condition register field ${i} (LT, GT, EQ, SO)` })),
  { name: 'lr', summary: 'link register: the return address of bl, the target of blr' },
  { name: 'ctr', summary: 'count register: loop counter of bdnz, the target of bctr' },
  { name: 'xer', summary: 'fixed-point exception register: SO, OV, CA' },
  { name: 'msr', summary: 'machine state register: SF (64-bit), HV, EE, PR, IR/DR, LE…' },
];

export const POWER_REGISTER_BY_NAME: ReadonlyMap<string, PowerRegister> = new Map(POWER_REGISTERS.map((r) => [r.name, r]));
