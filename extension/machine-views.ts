// The "KVM Guest" views: the machine (memory slots ↔ host addresses, the vCPU's mode and decoded
// control registers, GDT entries, page tables under CR3, devices) and exit statistics, refreshed
// at every stop of the active kvm-guest session.
import * as vscode from 'vscode';
import type { DevicesSnapshot } from '../debug-adapter/vmm/vcpu-protocol';

interface Node {
  label: string;
  description?: string;
  tooltip?: string;
  children?: Node[] | (() => Promise<Node[]>);
  icon?: string;
}

const leaf = (label: string, description?: string, tooltip?: string, icon?: string): Node => ({ label, description, tooltip, icon });

export function activeGuestSession(): vscode.DebugSession | undefined {
  const s = vscode.debug.activeDebugSession;
  return s?.type === 'kvm-guest' ? s : undefined;
}

abstract class SessionTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  protected roots: Node[] = [];
  message?: string;

  refresh(): void {
    void this.load().then(
      (nodes) => {
        this.roots = nodes;
        this.changed.fire(undefined);
      },
      (e: Error) => {
        this.roots = [leaf(`(${e.message})`)];
        this.changed.fire(undefined);
      },
    );
  }

  clear(): void {
    this.roots = [];
    this.changed.fire(undefined);
  }

  protected abstract load(): Promise<Node[]>;

  getTreeItem(n: Node): vscode.TreeItem {
    const item = new vscode.TreeItem(n.label, n.children ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.description = n.description;
    item.tooltip = n.tooltip ?? (n.description ? `${n.label} ${n.description}` : n.label);
    if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon);
    return item;
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) return this.roots;
    if (typeof n.children === 'function') {
      try {
        n.children = await n.children();
      } catch (e) {
        n.children = [leaf(`(${(e as Error).message})`)];
      }
    }
    return n.children ?? [];
  }
}

interface MachineInfo {
  memorySize: number;
  mode: string;
  entry: string;
  /** A Multiboot kernel: how it was loaded. */
  boot?: string;
  pc: string;
  accelerator: { name: string; label: string };
  accelRows: Record<string, string>;
  devices: { name: string; bus: string; range: string }[];
  regions: { slot?: number; guestPhysical: string; size: number; hostVirtual: string; access: string }[];
  vcpu: { mode: string; cr0: { value: string; flags: string }; cr3: string; cr4: { value: string; flags: string }; efer: { value: string; flags: string }; gdtr: { base: string; limit: string }; idtr: { base: string; limit: string } };
}

interface PageEntry { index: number; value: string; flags: string[]; next: string; nextLevel?: string; leaf: boolean; covers: string; linearBase: string }

export class MachineTree extends SessionTree {
  protected async load(): Promise<Node[]> {
    const session = activeGuestSession();
    if (!session) return [];
    const info = (await session.customRequest('kvmGuest/machine')) as MachineInfo;
    const devices = (await session.customRequest('kvmGuest/devices')) as DevicesSnapshot;
    const gdt = (await session.customRequest('kvmGuest/gdt')) as { base: string; limit: string; note?: string; entries: { index: number; selector?: string; raw: string; summary: string }[] };
    const end = (start: string, size: number): string => '0x' + (BigInt(start) + BigInt(size) - 1n).toString(16);
    const long = BigInt(info.vcpu.efer.value) & 0x400n;
    const paging = BigInt(info.vcpu.cr0.value) >> 31n;
    const pae = BigInt(info.vcpu.cr4.value) & 0x20n;
    const pageTables = (table: string, level: string, base: string): (() => Promise<Node[]>) => async () => {
      const r = (await session.customRequest('kvmGuest/pageTable', { table, level, linearBase: base })) as { entries: PageEntry[] };
      return r.entries.map((e) => ({
        label: `${level}[${e.index}]`,
        description: `${e.covers} → ${e.next} ${e.flags.join(' ')}`,
        tooltip: `entry ${e.value}; ${e.leaf ? 'maps a page at' : 'next table at'} guest-physical ${e.next}`,
        children: e.nextLevel ? pageTables(e.next, e.nextLevel, e.linearBase) : undefined,
      }));
    };
    return [
      {
        label: 'Accelerator', description: info.accelerator.label, icon: info.accelerator.name === 'kvm' ? 'rocket' : 'chip',
        children: Object.entries(info.accelRows).map(([k, v]) => leaf(k, v)),
      },
      {
        label: 'Memory', description: `${info.memorySize >> 10} KiB`, icon: 'database',
        children: info.regions.map((r) =>
          leaf(r.slot !== undefined ? `slot ${r.slot}` : 'RAM', `guest-physical ${r.guestPhysical}–${end(r.guestPhysical, r.size)} ↔ host-virtual ${r.hostVirtual} (${r.access})`),
        ),
      },
      {
        label: 'vCPU 0', description: info.vcpu.mode, icon: 'chip',
        children: [
          leaf('entry', info.entry), ...(info.boot ? [leaf('boot', info.boot)] : []), leaf('pc (linear)', info.pc),
          leaf('cr0', `${info.vcpu.cr0.value}  ${info.vcpu.cr0.flags}`), leaf('cr3', info.vcpu.cr3),
          leaf('cr4', `${info.vcpu.cr4.value}  ${info.vcpu.cr4.flags}`), leaf('efer', `${info.vcpu.efer.value}  ${info.vcpu.efer.flags}`),
          leaf('gdtr', `base ${info.vcpu.gdtr.base} limit ${info.vcpu.gdtr.limit}`), leaf('idtr', `base ${info.vcpu.idtr.base} limit ${info.vcpu.idtr.limit}`),
        ],
      },
      {
        label: 'GDT', description: gdt.note ?? `${gdt.base}, limit ${gdt.limit}`, icon: 'list-ordered',
        children: gdt.entries.filter((e) => e.summary !== 'empty').map((e) => leaf(`${e.index}${e.selector ? ` (${e.selector})` : ''}`, e.summary, e.raw)),
      },
      paging
        ? { label: 'Page tables', description: `CR3 = ${info.vcpu.cr3} (${long ? '4-level' : pae ? 'PAE' : '32-bit'})`, icon: 'type-hierarchy', children: pageTables(info.vcpu.cr3, long ? 'PML4' : 'PD32', '0') }
        : leaf('Page tables', 'paging is off (linear = physical)', undefined, 'type-hierarchy'),
      // virtio devices are listed once, with their state (virtioNode), not as bare bus entries too.
      { label: 'Devices', icon: 'plug', children: [...info.devices.filter((d) => !d.bus.includes('virtio')).map((d) => leaf(d.name, `${d.bus} ${d.range}`)), ...devices.virtio.map(virtioNode)] },
      interruptsNode(devices),
    ];
  }
}

const hex = (v: number): string => '0x' + v.toString(16);

/** A virtio device: status bits, features, and per queue its rings, descriptors and last requests. */
function virtioNode(v: DevicesSnapshot['virtio'][number]): Node {
  return {
    label: v.name, description: `${v.statusNames.join('|') || 'reset'} at ${hex(v.base)}`, icon: 'circuit-board',
    children: [
      leaf('features', v.negotiatedFeatureNames.join(', ') || v.negotiatedFeatures, `offered ${v.offeredFeatures}, negotiated ${v.negotiatedFeatures}`),
      leaf('notifications / interrupts', `${v.notifications} / ${v.interrupts}`),
      ...v.problems.map((p) => leaf('problem', p, p, 'warning')),
      ...v.queues.map((q, i): Node => ({
        label: `queue ${q.index} ${q.name}`, description: `${q.ready ? '' : 'not ready, '}size ${q.size}, avail ${q.availIdx ?? '?'}, used ${q.usedIdx}, served ${q.served}${q.broken ? ' (broken)' : ''}`,
        children: [
          leaf('descriptor table', q.descAddress), leaf('driver area (avail)', q.driverAddress), leaf('device area (used)', q.deviceAddress),
          ...(v.descriptorTables[i] ?? []).filter((e) => e.length > 0 || e.flags !== 0).map((e) => leaf(`desc ${e.index}`, `${e.address} len ${e.length} flags ${e.flags} next ${e.next}`)),
          ...q.recent.map((r) => leaf(`request (head ${r.head})`, `${r.readable} bytes read, ${r.written} written`)),
        ],
      })),
    ],
  };
}

/** The local APIC, the I/O APIC's entries in use and the vectors the CPU took (KVM's in-kernel controllers: what the device thread did instead). */
function interruptsNode(d: DevicesSnapshot): Node {
  const l = d.lapic;
  const kernel = d.controllers === 'kernel';
  const e = d.eventfds;
  const count = (n: number | undefined, what: string): string => (n === undefined ? '' : `, ${n} ${what}`);
  return {
    label: 'Interrupts',
    description: kernel
      ? `KVM's in-kernel local APIC ${l.enabled ? 'enabled' : 'disabled'} and I/O APIC`
      : `local APIC ${l.enabled ? 'enabled' : 'disabled'}, ${Object.values(d.interruptsTaken).reduce((a, b) => a + b, 0)} taken`,
    icon: 'zap',
    children: [
      leaf('local APIC', `TPR ${hex(l.tpr)}, PPR ${hex(l.ppr)}, IRR ${l.irr.map(hex).join(' ') || '—'}, ISR ${l.isr.map(hex).join(' ') || '—'}${count(l.eois, 'EOIs')}`),
      leaf('local APIC timer', `${l.timer.initial ? `${l.timer.mode}, vector ${hex(l.timer.vector)}${l.timer.masked ? ' (masked)' : ''}, current ${l.timer.current}/${l.timer.initial}` : 'stopped'}${l.timer.fired !== undefined ? `, fired ${l.timer.fired}` : ''}`),
      ...d.ioapic.map((r) =>
        leaf(
          `I/O APIC input ${r.pin}`,
          `${r.masked ? 'masked' : `vector ${hex(r.vector)}`} ${r.level ? 'level' : 'edge'}${r.remoteIrr ? ' Remote-IRR' : ''}, raised ${r.raised}` +
            `${r.delivered !== undefined ? `, delivered ${r.delivered}` : ''}${r.source ? ` ← ${r.source}` : ''}`,
        ),
      ),
      ...Object.entries(d.interruptsTaken).map(([v, n]) => leaf(`vector ${hex(Number(v))}`, `taken ${n}×`)),
      ...(e
        ? [leaf('device thread', `${e.ioeventfdNotifications} notifications by ioeventfd, ${e.irqfdInjections} interrupts by irqfd${e.irqLineCalls ? `, ${e.irqLineCalls} KVM_IRQ_LINE calls` : ''}, no exit to user space`)]
        : []),
    ],
  };
}

interface ExitStats { total: number; exits: Record<string, number>; ports: Record<string, { in: number; out: number }>; mmio: Record<string, { read: number; write: number }> }

export class ExitTree extends SessionTree {
  protected async load(): Promise<Node[]> {
    const session = activeGuestSession();
    if (!session) return [];
    const st = (await session.customRequest('kvmGuest/exitStats')) as ExitStats;
    return [
      leaf('total exits', String(st.total), undefined, 'pulse'),
      { label: 'by reason', icon: 'list-flat', children: Object.entries(st.exits).sort((a, b) => b[1] - a[1]).map(([r, n]) => leaf(r, String(n))) },
      { label: 'by I/O port', icon: 'plug', children: Object.entries(st.ports).map(([p, c]) => leaf(p, `out ${c.out}, in ${c.in}`)) },
      { label: 'by MMIO address', icon: 'symbol-field', children: Object.entries(st.mmio).map(([a, c]) => leaf(a, `read ${c.read}, write ${c.write}`)) },
    ];
  }
}

/** "Explain Address": the page walk of a guest-virtual address, step by step. */
export async function explainAddress(output: vscode.OutputChannel, address?: string): Promise<string | undefined> {
  const session = activeGuestSession();
  if (!session) {
    void vscode.window.showInformationMessage('KVM Guest: start debugging a guest and stop it (breakpoint or pause) to explain an address.');
    return undefined;
  }
  const input = address ?? (await vscode.window.showInputBox({ prompt: 'Guest-virtual address or expression (e.g. 0x400, rsp, greeting)', value: '0x400' }));
  if (!input) return undefined;
  try {
    const r = (await session.customRequest('kvmGuest/pageWalk', { address: input })) as { text: string };
    output.clear();
    output.appendLine(`Page walk of ${input}`);
    output.appendLine(r.text);
    output.show(true);
    return r.text;
  } catch (e) {
    void vscode.window.showErrorMessage(`KVM Guest: ${(e as Error).message}`);
    return undefined;
  }
}
