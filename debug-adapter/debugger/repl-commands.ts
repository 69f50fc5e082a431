// Debug Console commands for the machine itself (.regs, .exits, .gdt, .idt, .pagewalk, .machine),
// and the same views as data for the extension's custom requests.
import type { Machine } from '../vmm/machine';
import type { Regs, SRegs } from '../vmm/cpu-state';
import type { GuestAddressSpace } from './guest-address-space';
import { formatRegisters } from '../vmm/stop-report';
import { decodeCr0, decodeCr4, decodeDescriptor, decodeEfer, decodeSystemDescriptor64, explainWalk, summarizeFlags } from '../inspect/decode';
import { createEvalContext, evaluate } from '../inspect/expression';
import { listPageTable, PageTableLevel } from './page-tables';
import { irqText, virtioText } from './device-views';

export interface ReplContext {
  machine?: Machine;
  stopped?: { regs: Regs; sregs: SRegs; space: GuestAddressSpace };
  modeName?: string;
  /** Return data for the extension instead of text. */
  json?: boolean;
}

const HELP = `Machine commands (expressions work too: rax, %eax, *(u32*)0x400, [rsp+8], symbol+4):
  .regs              registers, segments and control registers
  .exits             VM exits by reason, I/O port and MMIO address (like kvm_stat)
  .gdt               the GDT entries, decoded
  .idt               the IDT entries, decoded
  .pagewalk ADDR     how the CPU translates a guest-virtual address, step by step
  .machine           accelerator, memory (guest-physical ↔ host-virtual), vCPU mode, control registers
  .irq               the local APIC and I/O APIC: priorities, redirection entries, interrupts per input
  .virtio            virtio devices: status, features, each queue's rings and descriptors, requests served
  .help              this list`;

const hex = (v: bigint | number): string => '0x' + v.toString(16);

function needStopped(ctx: ReplContext): NonNullable<ReplContext['stopped']> {
  if (!ctx.stopped) throw new Error('the guest is running (or gone): pause it first');
  return ctx.stopped;
}

function readQword(space: GuestAddressSpace, at: bigint): bigint | undefined {
  const r = space.read({ address: at, physical: false }, 8);
  return r.unreadable ? undefined : new DataView(r.data.buffer, r.data.byteOffset, 8).getBigUint64(0, true);
}

function descriptorTable(ctx: ReplContext, which: 'gdt' | 'idt') {
  const { sregs, space } = needStopped(ctx);
  const table = sregs[which];
  const longMode = (sregs.efer & 0x400n) !== 0n;
  const realMode = (sregs.cr0 & 1n) === 0n;
  const entries: { index: number; selector?: string; raw: string; summary: string }[] = [];
  if (which === 'idt' && realMode) {
    for (let v = 0; v * 4 <= table.limit && v < 256; v++) {
      const r = space.read({ address: table.base + BigInt(v * 4), physical: false }, 4);
      if (r.unreadable) break;
      const off = r.data[0] | (r.data[1] << 8);
      const seg = r.data[2] | (r.data[3] << 8);
      entries.push({ index: v, raw: Buffer.from(r.data).toString('hex'), summary: `real-mode vector → ${seg.toString(16).padStart(4, '0')}:${off.toString(16).padStart(4, '0')}` });
    }
    return { base: hex(table.base), limit: hex(table.limit), entries };
  }
  if (which === 'gdt' && realMode) return { base: hex(table.base), limit: hex(table.limit), entries, note: 'real mode: the GDT is not in use' };
  const wide = which === 'idt' && longMode;
  const size = wide ? 16 : 8;
  for (let i = 0; i * size + size - 1 <= table.limit && i < 8192; i++) {
    const at = table.base + BigInt(i * size);
    const low = readQword(space, at);
    if (low === undefined) {
      entries.push({ index: i, raw: '(not mapped)', summary: 'cannot read this entry' });
      break;
    }
    if (low === 0n && !wide) {
      entries.push({ index: i, selector: which === 'gdt' ? hex(i * 8) : undefined, raw: '0000000000000000', summary: i === 0 ? 'null descriptor' : 'empty' });
      continue;
    }
    const isSystem = ((low >> 44n) & 1n) === 0n;
    let info;
    if ((wide || (longMode && isSystem && which === 'gdt')) && low !== 0n) {
      const high = readQword(space, at + 8n) ?? 0n;
      info = decodeSystemDescriptor64(low, high);
      entries.push({ index: i, selector: which === 'gdt' ? hex(i * 8) : undefined, raw: high.toString(16).padStart(16, '0') + low.toString(16).padStart(16, '0'), summary: info.summary });
      if (!wide) i++; // a 16-byte system descriptor takes two GDT slots
      continue;
    }
    info = decodeDescriptor(low);
    entries.push({ index: i, selector: which === 'gdt' ? hex(i * 8) : undefined, raw: low.toString(16).padStart(16, '0'), summary: info.summary });
  }
  return { base: hex(table.base), limit: hex(table.limit), entries };
}

function exitStats(ctx: ReplContext) {
  const st = ctx.machine?.lastStats;
  return {
    total: st?.total ?? 0,
    exits: st?.exits ?? {},
    ports: Object.fromEntries(Object.entries(st?.ports ?? {}).map(([p, c]) => [hex(Number(p)), c])),
    mmio: Object.fromEntries(Object.entries(st?.mmio ?? {}).map(([a, c]) => [hex(Number(a)), c])),
  };
}

/** The devices on the buses: what vcpu-worker.ts registers on every machine, then the chosen virtio devices. */
export const DEVICES = [
  { name: '16550 UART (COM1)', bus: 'port I/O', range: '0x3f8–0x3ff' },
  { name: 'debug console', bus: 'port I/O', range: '0xe9' },
  { name: 'pseudo-serial (Linux Journal)', bus: 'port I/O', range: '0xf1' },
  { name: 'POST code', bus: 'port I/O', range: '0x80' },
  { name: '8254 PIT (counter 0 → I/O APIC input 2)', bus: 'port I/O', range: '0x40–0x43' },
  { name: 'I/O APIC', bus: 'MMIO', range: '0xfec00000–0xfec0001f' },
  { name: 'local APIC', bus: 'MMIO', range: '0xfee00000–0xfee00fff' },
  { name: 'isa-debug-exit', bus: 'port I/O', range: '0xf4–0xf7' },
  { name: 'fw_cfg', bus: 'port I/O', range: '0x510–0x511' },
];

function machineInfo(ctx: ReplContext) {
  const m = ctx.machine;
  if (!m) throw new Error('no VM');
  const { sregs, regs } = needStopped(ctx);
  const entry = m.options.entry;
  return {
    memorySize: m.memory.size,
    mode: m.options.mode,
    /** A Multiboot kernel: how it was loaded. */
    boot: m.options.multiboot?.summary,
    entry: entry.kind === 'real' ? `${entry.segment.toString(16).padStart(4, '0')}:${entry.offset.toString(16).padStart(4, '0')}` : hex(entry.address),
    accelerator: { name: m.accelerator.name, label: m.accelerator.label },
    /** What runs the vCPU, in rows (KVM: VM fd, kvm_run area; software CPU: the engine and what stands in for kvm_run). */
    accelRows: m.describeRows(),
    devices: [
      ...DEVICES,
      ...(m.lastDevices?.virtio ?? []).map((v) => ({ name: v.name, bus: 'MMIO (virtio-mmio)', range: `${hex(v.base)}–${hex(v.base + 0x1ff)}` })),
    ],
    pc: hex(sregs.cs.base + regs.rip),
    regions: m.regions().map((r) => ({
      slot: r.slot, guestPhysical: hex(r.guestPhysical), size: r.size, hostVirtual: hex(r.hostVirtual), access: r.access,
    })),
    vcpu: {
      mode: ctx.modeName,
      cr0: { value: hex(sregs.cr0), flags: summarizeFlags(decodeCr0(sregs.cr0)) },
      cr3: hex(sregs.cr3),
      cr4: { value: hex(sregs.cr4), flags: summarizeFlags(decodeCr4(sregs.cr4)) },
      efer: { value: hex(sregs.efer), flags: summarizeFlags(decodeEfer(sregs.efer)) },
      gdtr: { base: hex(sregs.gdt.base), limit: hex(sregs.gdt.limit) },
      idtr: { base: hex(sregs.idt.base), limit: hex(sregs.idt.limit) },
    },
  };
}

function pageWalk(ctx: ReplContext, arg: string) {
  const { space, regs, sregs } = needStopped(ctx);
  if (!arg) throw new Error('.pagewalk needs an address, e.g. .pagewalk 0x400 or .pagewalk rsp');
  const linear = evaluate(arg, createEvalContext({ bitness: 64, regs, sregs })).value;
  const walk = space.walk(linear);
  return { walk, text: explainWalk(walk).join('\n') };
}

/** Runs a `.command` typed in the Debug Console; returns its text (or data when ctx.json). */
export function runReplCommand(text: string, ctx: ReplContext): string | object {
  const [cmd, ...rest] = text.trim().split(/\s+/);
  const arg = rest.join(' ');
  switch (cmd) {
    case '.help':
      return HELP;
    case '.regs': {
      const { regs, sregs } = needStopped(ctx);
      return `${ctx.modeName}\n${formatRegisters(regs, sregs)}`;
    }
    case '.exits':
    case '.exitStats': {
      const st = exitStats(ctx);
      if (ctx.json) return st;
      const lines = [`${st.total} exits`];
      for (const [r, n] of Object.entries(st.exits).sort((a, b) => b[1] - a[1])) lines.push(`  ${r.padEnd(16)} ${n}`);
      for (const [p, c] of Object.entries(st.ports)) lines.push(`  port ${p.padEnd(8)} out ${c.out}  in ${c.in}`);
      for (const [a, c] of Object.entries(st.mmio)) lines.push(`  mmio ${a.padEnd(12)} read ${c.read}  write ${c.write}`);
      return lines.join('\n');
    }
    case '.gdt':
    case '.idt': {
      const t = descriptorTable(ctx, cmd === '.gdt' ? 'gdt' : 'idt');
      if (ctx.json) return t;
      const lines = [`${cmd.slice(1).toUpperCase()} at ${t.base}, limit ${t.limit}${'note' in t ? ` (${t.note})` : ''}`];
      let empties = 0;
      const flush = (): void => {
        if (empties) lines.push(`      … ${empties} empty entr${empties === 1 ? 'y' : 'ies'}`);
        empties = 0;
      };
      for (const e of t.entries) {
        if (e.summary === 'empty') {
          empties++;
          continue;
        }
        flush();
        lines.push(`  ${String(e.index).padStart(4)} ${e.selector ? e.selector.padEnd(6) : ''} ${e.raw}  ${e.summary}`);
      }
      flush();
      return lines.join('\n');
    }
    case '.pagewalk':
    case '.pageWalk': {
      const w = pageWalk(ctx, arg);
      return ctx.json ? { text: w.text, walk: JSON.parse(JSON.stringify(w.walk, (_k, v) => (typeof v === 'bigint' ? hex(v) : v))) } : w.text;
    }
    case '.pagetable':
    case '.pageTable': {
      const [table, level, base] = rest;
      const { space } = needStopped(ctx);
      const entries = listPageTable(space, BigInt(table), level as PageTableLevel, BigInt(base ?? '0'));
      if (ctx.json) return { entries };
      return entries.map((e) => `${String(e.index).padStart(3)} ${e.value} ${e.flags.join(' ')} → ${e.next} (${e.covers})`).join('\n');
    }
    case '.irq':
    case '.virtio':
    case '.devices': {
      const d = ctx.machine?.lastDevices;
      if (!d) throw new Error('no VM yet: the devices are shown once the guest has run and stopped');
      if (ctx.json) return d;
      return cmd === '.irq' ? irqText(d) : cmd === '.virtio' ? virtioText(d) : `${irqText(d)}\n${virtioText(d)}`;
    }
    case '.machine': {
      const info = machineInfo(ctx);
      if (ctx.json) return info;
      return [
        `memory: ${info.memorySize >> 10} KiB, ${info.mode} mode, entry ${info.entry}`,
        ...(info.boot ? [`boot: ${info.boot}`] : []),
        `accelerator: ${info.accelerator.label}`,
        ...Object.entries(info.accelRows).map(([k, v]) => `  ${k}: ${v}`),
        ...info.regions.map((r) => `  ${r.slot !== undefined ? `slot ${r.slot}` : 'RAM'}: guest-physical ${r.guestPhysical} (+${r.size} bytes) ↔ host-virtual ${r.hostVirtual} (${r.access})`),
        `vCPU: ${info.vcpu.mode}`,
        `  cr0 ${info.vcpu.cr0.value} ${info.vcpu.cr0.flags}`,
        `  cr3 ${info.vcpu.cr3}`,
        `  cr4 ${info.vcpu.cr4.value} ${info.vcpu.cr4.flags}`,
        `  efer ${info.vcpu.efer.value} ${info.vcpu.efer.flags}`,
        `  gdtr ${info.vcpu.gdtr.base}/${info.vcpu.gdtr.limit}  idtr ${info.vcpu.idtr.base}/${info.vcpu.idtr.limit}`,
      ].join('\n');
    }
    default:
      throw new Error(`unknown command '${cmd}': type .help for the list`);
  }
}
