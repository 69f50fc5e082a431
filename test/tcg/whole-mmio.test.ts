// MMIO accesses reach the bus as the instruction makes them, although Unicorn 2.0.1 cuts 8-byte and
// unaligned ones into pieces on the way to a uc_mmio_map region (debug-adapter/vmm/tcg/whole-mmio.ts).
// The first test pins what Unicorn does; the second what the software CPU makes of it.
import * as assert from 'node:assert/strict';
import koffi from 'koffi';
import * as libc from '../../debug-adapter/vmm/libc';
import {
  check, MemCallback, MmioReadCallback, MmioWriteCallback, UC_ARCH_X86, UC_HOOK, UC_MEM, UC_MODE_64, UC_PROT_ALL, unicorn, X86,
} from '../../debug-adapter/vmm/tcg/unicorn-lib';
import { assemble, load, makeRig, startIn } from './harness';

const hex = (v: bigint | number): string => '0x' + v.toString(16);

describe('software CPU: MMIO accesses whole', () => {
  it('measured: Unicorn 2.0.1 hands an 8-byte MMIO access over as two 4-byte halves, low first; a memory hook sees it whole first', () => {
    const lib = unicorn();
    const out: unknown[] = [null];
    check(lib.uc_open(UC_ARCH_X86, UC_MODE_64, out), 'uc_open');
    const uc = out[0];
    const ram = libc.mmap(0x10000, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS, -1, 'probe RAM');
    const seen: string[] = [];
    const callbacks = [
      koffi.register((_uc: number, offset: number, size: number): number => {
        seen.push(`read ${hex(offset)} ${size}`);
        return 0;
      }, koffi.pointer(MmioReadCallback)),
      koffi.register((_uc: number, offset: number, size: number, value: number | bigint): void => {
        seen.push(`write ${hex(offset)} ${size} ${hex(value)}`);
      }, koffi.pointer(MmioWriteCallback)),
      koffi.register((_uc: number, type: number, address: number | bigint, size: number): void => {
        seen.push(`hook ${type === UC_MEM.WRITE ? 'write' : 'read'} ${hex(address)} ${size}`);
      }, koffi.pointer(MemCallback)),
    ];
    try {
      const code = assemble('.code64\n movabs $0x1122334455667788, %rax\n mov %rax, (%rbx)\n mov (%rbx), %rcx\n hlt', 0x1000);
      new Uint8Array(ram.buffer).set(code, 0x1000);
      check(lib.uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, ram.address), 'uc_mem_map_ptr');
      check(lib.uc_mmio_map(uc, 0x100000, 0x1000, callbacks[0], 0, callbacks[1], 0), 'uc_mmio_map');
      check(lib.uc_hook_add(uc, [0n], UC_HOOK.MEM_READ | UC_HOOK.MEM_WRITE, callbacks[2], 0, 0x100000n, 0x100fffn), 'uc_hook_add');
      const rbx = Buffer.alloc(8);
      rbx.writeBigUInt64LE(0x100000n);
      check(lib.uc_reg_write(uc, X86.RBX, rbx), 'uc_reg_write');
      check(lib.uc_emu_start(uc, 0x1000n, BigInt(0x1000 + code.length - 1), 0, 0), 'uc_emu_start');
      assert.deepEqual(seen, [
        'hook write 0x100000 8', 'write 0x0 4 0x55667788', 'write 0x4 4 0x11223344',
        'hook read 0x100000 8', 'read 0x0 4', 'read 0x4 4',
      ]);
    } finally {
      lib.uc_close(uc);
      for (const cb of callbacks) koffi.unregister(cb);
      libc.munmap(ram);
    }
  });

  it('long mode: each instruction is one bus access of its size at its address — 8-byte, unaligned and 16-byte (two 8-byte) ones included', () => {
    const rig = makeRig();
    const accesses: string[] = [];
    // A device whose byte at address a reads as a & 0xff, and which records each access.
    rig.mmio.register({
      name: 'recorder',
      mmioRead(address, data) {
        accesses.push(`read ${hex(address)} ${data.length}`);
        for (let i = 0; i < data.length; i++) data[i] = (address + i) & 0xff;
      },
      mmioWrite(address, data) {
        accesses.push(`write ${hex(address)} ${data.length} ${Buffer.from(data).toString('hex')}`);
      },
    }, 0xd0000000, 0x1000);
    try {
      load(rig, `.code64
        mov $0xd0000000, %rsi
        movabs $0x1122334455667788, %rax
        mov %rax, 0x10(%rsi)
        mov 0x20(%rsi), %rbx
        movl $0xaabbccdd, 0x30(%rsi)
        mov 0x34(%rsi), %ecx
        mov %rax, 0x44(%rsi)
        mov 0x54(%rsi), %rdx
        mov 0x62(%rsi), %edi
        mov %ax, 0x81(%rsi)
        movdqu 0x70(%rsi), %xmm0
        hlt`, 0x10000);
      startIn(rig, 'long', { kind: 'linear', address: 0x10000 });
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assert.deepEqual(accesses, [
        'write 0xd0000010 8 8877665544332211',
        'read 0xd0000020 8',
        'write 0xd0000030 4 ddccbbaa',
        'read 0xd0000034 4',
        'write 0xd0000044 8 8877665544332211', // unaligned: Unicorn makes it 8 one-byte writes
        'read 0xd0000054 8', // unaligned: Unicorn reads the aligned quadwords at 0x50 and 0x58
        'read 0xd0000062 4',
        'write 0xd0000081 2 8877',
        'read 0xd0000070 8', // movdqu: two 8-byte accesses, as on KVM
        'read 0xd0000078 8',
      ]);
      const { regs } = rig.vcpu.getState();
      assert.equal(hex(regs.rbx), '0x2726252423222120');
      assert.equal(hex(regs.rcx), '0x37363534');
      assert.equal(hex(regs.rdx), '0x5b5a595857565554');
      assert.equal(hex(regs.rdi), '0x65646362');
      const stats = rig.counters.snapshot();
      assert.equal(stats.exits.MMIO, accesses.length);
      assert.deepEqual(stats.mmio[0xd0000010], { read: 0, write: 1 });
      assert.deepEqual(stats.mmio[0xd0000020], { read: 1, write: 0 });
      assert.equal(stats.mmio[0xd0000014], undefined);
    } finally {
      rig.close();
    }
  });
});
