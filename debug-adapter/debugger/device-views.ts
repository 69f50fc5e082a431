// The interrupt controllers and virtio devices as the Debug Console (.irq, .virtio) and the KVM
// Guest view's Devices section show them: text for people, the same data for the extension.
import type { DevicesSnapshot } from '../vmm/vcpu-protocol';

const hex = (v: number): string => '0x' + v.toString(16);

/** `.irq`: the local APIC, each I/O APIC entry that is connected or programmed, and the vectors taken. */
export function irqText(d: DevicesSnapshot): string {
  const l = d.lapic;
  const kernel = d.controllers === 'kernel';
  const lines = [
    ...(kernel ? ['KVM\'s in-kernel interrupt controllers (KVM_GET_LAPIC, KVM_GET_IRQCHIP): KVM delivers, so per-vector counts are not kept'] : []),
    `local APIC at 0xfee00000: ${l.enabled ? 'enabled' : 'software-disabled (SVR bit 8 clear: interrupts are held)'}, TPR ${hex(l.tpr)}, PPR ${hex(l.ppr)}`,
    `  IRR ${l.irr.map(hex).join(' ') || '—'}   ISR ${l.isr.map(hex).join(' ') || '—'}${l.eois !== undefined ? `   EOIs ${l.eois}` : ''}`,
    `  timer: ${l.timer.initial === 0 ? 'stopped' : `${l.timer.mode}, vector ${hex(l.timer.vector)}${l.timer.masked ? ' (masked)' : ''}, initial ${l.timer.initial}, current ${l.timer.current}, divide ${l.timer.divide}`}` +
      `${l.timer.fired !== undefined ? `, fired ${l.timer.fired}` : ''}`,
    'I/O APIC at 0xfec00000 (inputs connected or programmed):',
  ];
  if (d.ioapic.length === 0) lines.push('  (none)');
  for (const e of d.ioapic)
    lines.push(
      `  input ${String(e.pin).padEnd(2)} ${e.masked ? 'masked  ' : 'unmasked'} vector ${hex(e.vector).padEnd(5)} ${e.level ? 'level' : 'edge '} ` +
        `${e.activeLow ? 'active-low ' : ''}${e.deliveryMode} → ${e.logical ? 'logical' : 'APIC ID'} ${hex(e.destination)}` +
        `${e.remoteIrr ? ' Remote-IRR' : ''}${e.asserted ? ' asserted' : ''}  raised ${e.raised}${e.delivered !== undefined ? `, delivered ${e.delivered}` : ''}${e.source ? `  ← ${e.source}` : ''}`,
    );
  const taken = Object.entries(d.interruptsTaken);
  if (!kernel) lines.push(`vectors taken by the CPU: ${taken.length ? taken.map(([v, n]) => `${hex(Number(v))} ×${n}`).join(', ') : 'none'}`);
  const e = d.eventfds;
  if (e)
    lines.push(
      `device thread: ${e.ioeventfdNotifications} notifications by ioeventfd, ${e.irqfdInjections} interrupts by irqfd` +
        `${e.irqLineCalls ? `, ${e.irqLineCalls} KVM_IRQ_LINE calls` : ''}, ${e.haltChecks} halt checks — none of them an exit to user space`,
    );
  return lines.join('\n');
}

/** `.virtio`: each device's status, features and queues with their descriptor tables and last requests. */
export function virtioText(d: DevicesSnapshot): string {
  if (d.virtio.length === 0) return 'no virtio devices (--device virtio-rng|virtio-console, the "devices" launch attribute, or a "kvm-guest: devices=" comment)';
  const lines: string[] = [];
  for (const v of d.virtio) {
    lines.push(
      `${v.name} (device id ${v.deviceId}) at ${hex(v.base)}: status ${v.statusNames.join('|') || '0 (reset)'}`,
      `  features: offered ${v.offeredFeatures}, negotiated ${v.negotiatedFeatures}${v.negotiatedFeatureNames.length ? ` (${v.negotiatedFeatureNames.join(', ')})` : ''}`,
      `  ${v.notifications} notifications, ${v.interrupts} interrupts, InterruptStatus ${hex(v.interruptStatus)}, config generation ${v.configGeneration}`,
    );
    v.queues.forEach((q, i) => {
      lines.push(
        `  queue ${q.index} ${q.name}: ${q.ready ? 'ready' : 'not ready'}, size ${q.size}/${q.maxSize}, desc ${q.descAddress}, driver ${q.driverAddress}, device ${q.deviceAddress}` +
          `${q.broken ? ' (broken: the device needs a reset)' : ''}`,
        `    avail idx ${q.availIdx ?? '?'} (device has read up to ${q.lastAvailIdx}), used idx ${q.usedIdx}, ${q.served} requests served`,
      );
      for (const e of v.descriptorTables[i] ?? []) if (e.length > 0 || e.flags !== 0) lines.push(`    desc ${String(e.index).padStart(3)}: ${e.address} len ${e.length} flags ${e.flags} next ${e.next}`);
      for (const r of q.recent) lines.push(`    served: head ${r.head}, ${r.readable} bytes read, ${r.written} written`);
    });
    for (const p of v.problems) lines.push(`  problem: ${p}`);
  }
  return lines.join('\n');
}
