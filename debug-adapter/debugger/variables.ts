// The Variables view of a stopped vCPU: Registers (named for the current mode), Flags (RFLAGS
// decoded), Segments, System (control registers decoded bit by bit, GDTR, IDTR) and Symbols (data
// labels with their current values). Containers get references valid until the next stop.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Regs, SRegs } from '../vmm/cpu-state';
import { readRegister, registersForBitness } from '../inspect/register-names';
import { decodeCr0, decodeCr3, decodeCr4, decodeEfer, decodeRflags, decodeSegment, DecodedField, summarizeFlags } from '../inspect/decode';
import type { Bitness } from '../program/disassembler';

export interface DataSymbol {
  name: string;
  address: bigint;
  size: number;
}

export interface MachineState {
  regs: Regs;
  sregs: SRegs;
  bitness: Bitness;
  longMode: boolean;
  dataSymbols: DataSymbol[];
  /** Little-endian read of `size` bytes at a linear address, or undefined when unmapped. */
  read(address: bigint, size: number): bigint | undefined;
}

export type ScopeName = 'Registers' | 'Flags' | 'Segments' | 'System' | 'Symbols';

type Children = () => DebugProtocol.Variable[];

const hexWidth = (v: bigint, bytes: number): string => '0x' + v.toString(16).padStart(bytes * 2, '0');

export class VariableTree {
  private readonly containers = new Map<number, Children>();
  private readonly scopeOf = new Map<number, ScopeName>();
  private next = 1;

  constructor(private readonly state: MachineState, private readonly hex = true) {}

  private container(children: Children, scope?: ScopeName): number {
    const ref = this.next++;
    this.containers.set(ref, children);
    if (scope) this.scopeOf.set(ref, scope);
    return ref;
  }

  private value(v: bigint, bytes: number): string {
    return this.hex ? hexWidth(v, bytes) : v.toString(10);
  }

  scopes(): DebugProtocol.Scope[] {
    const mk = (name: ScopeName, children: Children, expensive = false, presentationHint?: string): DebugProtocol.Scope => ({
      name, variablesReference: this.container(children, name), expensive, presentationHint,
    });
    return [
      // No 'registers' presentation hint: VS Code expands the first scope only without it.
      mk('Registers', () => this.registers()),
      mk('Flags', () => this.flags()),
      mk('Segments', () => this.segments()),
      mk('System', () => this.system()),
      mk('Symbols', () => this.symbols()),
    ];
  }

  /** Which scope a variables reference belongs to (for setVariable). */
  scopeName(ref: number): ScopeName | undefined {
    return this.scopeOf.get(ref);
  }

  variables(ref: number): DebugProtocol.Variable[] | undefined {
    return this.containers.get(ref)?.();
  }

  private registers(): DebugProtocol.Variable[] {
    const { regs, sregs, bitness } = this.state;
    const bytes = bitness / 8;
    return registersForBitness(bitness).map((name) => {
      const v = readRegister(name, regs, sregs) ?? 0n;
      const isIp = /ip$/.test(name);
      const isFlags = /flags$/.test(name);
      // Every general register may hold an address: offer the memory view on it.
      const linear = isIp ? sregs.cs.base + v : v;
      return {
        name, value: this.value(v, bytes), variablesReference: 0, evaluateName: name,
        type: isFlags ? summarizeFlags(decodeRflags(regs.rflags)) : undefined,
        memoryReference: isFlags ? undefined : '0x' + linear.toString(16),
      };
    });
  }

  private bitFields(fields: DecodedField[]): DebugProtocol.Variable[] {
    return fields.map((f) => ({ name: f.name, value: f.value, type: f.description, variablesReference: 0, evaluateName: undefined }));
  }

  private flags(): DebugProtocol.Variable[] {
    const fields = decodeRflags(this.state.regs.rflags);
    return [
      { name: 'rflags', value: `${hexWidth(this.state.regs.rflags, 4)}  ${summarizeFlags(fields)}`, variablesReference: 0, evaluateName: 'rflags' },
      ...this.bitFields(fields),
    ];
  }

  private segments(): DebugProtocol.Variable[] {
    const { sregs, longMode } = this.state;
    return (['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const).map((name) => {
      const seg = sregs[name];
      const info = decodeSegment(seg, { longMode });
      return {
        name,
        value: `${hexWidth(BigInt(seg.selector), 2)}  base=0x${seg.base.toString(16)} limit=0x${seg.limit.toString(16)}  ${info.summary}`,
        variablesReference: this.container(() => [
          { name: 'selector', value: hexWidth(BigInt(seg.selector), 2), variablesReference: 0 },
          { name: 'base', value: '0x' + seg.base.toString(16), variablesReference: 0, memoryReference: '0x' + seg.base.toString(16) },
          { name: 'limit', value: '0x' + seg.limit.toString(16), variablesReference: 0 },
          ...this.bitFields(info.fields),
        ]),
        evaluateName: name,
      };
    });
  }

  private system(): DebugProtocol.Variable[] {
    const { sregs } = this.state;
    const control = (name: 'cr0' | 'cr4' | 'efer', fields: DecodedField[]): DebugProtocol.Variable => ({
      name, value: `${hexWidth(sregs[name], name === 'efer' ? 4 : 4)}  ${summarizeFlags(fields)}`,
      variablesReference: this.container(() => this.bitFields(fields)), evaluateName: name,
    });
    const table = (name: 'gdtr' | 'idtr', t: { base: bigint; limit: number }): DebugProtocol.Variable => ({
      name, value: `base=0x${t.base.toString(16)} limit=0x${t.limit.toString(16)}`, variablesReference: 0,
      memoryReference: '0x' + t.base.toString(16),
    });
    return [
      control('cr0', decodeCr0(sregs.cr0)),
      { name: 'cr2', value: '0x' + sregs.cr2.toString(16), type: 'page-fault linear address', variablesReference: 0, evaluateName: 'cr2', memoryReference: '0x' + sregs.cr2.toString(16) },
      {
        name: 'cr3', value: '0x' + sregs.cr3.toString(16), variablesReference: this.container(() => this.bitFields(decodeCr3(sregs.cr3, sregs.cr4))),
        evaluateName: 'cr3', memoryReference: 'phys:0x' + (sregs.cr3 & ~0xfffn).toString(16),
      },
      control('cr4', decodeCr4(sregs.cr4)),
      { name: 'cr8', value: '0x' + sregs.cr8.toString(16), variablesReference: 0, evaluateName: 'cr8' },
      control('efer', decodeEfer(sregs.efer)),
      table('gdtr', sregs.gdt),
      table('idtr', sregs.idt),
    ];
  }

  private symbols(): DebugProtocol.Variable[] {
    const { bitness } = this.state;
    return this.state.dataSymbols.map((s) => {
      const size = [1, 2, 4, 8].includes(s.size) ? s.size : Math.min(bitness / 8, 4);
      const v = this.state.read(s.address, size);
      return {
        name: s.name,
        value: v === undefined ? '(not mapped)' : this.value(v, size),
        type: `${size}-byte value at 0x${s.address.toString(16)}`,
        variablesReference: 0,
        memoryReference: '0x' + s.address.toString(16),
        evaluateName: `*(u${size * 8}*)0x${s.address.toString(16)}`,
      };
    });
  }
}
