// The monitor's parts that need no /dev/kvm: memory-size parsing, entry parsing, GDT encoding,
// the byte ring, the UART registers, the port bus policy and string-I/O exits with count > 1.
import assert from 'node:assert/strict';
import { parseMemorySize, RESERVED_END, RESERVED_START } from '../../debug-adapter/vmm/guest-layout';
import { gdtEntry, parseEntry, defaultEntry, writeModeTables } from '../../debug-adapter/vmm/cpu-modes';
import { ByteRing } from '../../debug-adapter/vmm/byte-ring';
import { Uart16550, LSR_DR, LSR_THRE, LSR_TEMT } from '../../debug-adapter/vmm/devices/uart16550';
import { PortBus, UnmappedAccess } from '../../debug-adapter/vmm/devices/bus';
import { DebugConsolePort } from '../../debug-adapter/vmm/devices/output-ports';
import { serveIoExit } from '../../debug-adapter/vmm/kvm/io-exit';
import { OFFSET } from '../../debug-adapter/vmm/kvm/kvm-abi';
import { ExitCounters } from '../../debug-adapter/vmm/exit-counters';

describe('memory sizes', function () {
  it('accepts suffixes, hex and plain bytes, rounding up to a page', function () {
    assert.equal(parseMemorySize('2M'), 2 << 20);
    assert.equal(parseMemorySize('2MiB'), 2 << 20);
    assert.equal(parseMemorySize('1G'), 1 << 30);
    assert.equal(parseMemorySize('0x200000'), 0x200000);
    assert.equal(parseMemorySize('1048577'), (1 << 20) + 4096);
    assert.equal(parseMemorySize('1536k'), 1536 * 1024);
  });
  it('refuses zero, tiny, absurd and malformed sizes with what is accepted', function () {
    assert.throws(() => parseMemorySize('0'), /at least 1M/);
    assert.throws(() => parseMemorySize('64K'), /too small: at least 1M/);
    assert.throws(() => parseMemorySize('100G'), /too large: at most 3G/);
    assert.throws(() => parseMemorySize('lots'), /invalid memory size 'lots'.*2M/);
  });
});

describe('entry points', function () {
  it('parses SEG:OFF for real mode and linear addresses', function () {
    assert.deepEqual(parseEntry('f000:fff0', 'real'), { kind: 'real', segment: 0xf000, offset: 0xfff0 });
    assert.deepEqual(parseEntry('0000:0000', 'real'), { kind: 'real', segment: 0, offset: 0 });
    assert.deepEqual(parseEntry('0x100000', 'long'), { kind: 'linear', address: 0x100000 });
    assert.throws(() => parseEntry('f000:fff0', 'protected'), /only real mode/);
    assert.throws(() => parseEntry('nowhere', 'long'), /invalid entry/);
  });
  it('defaults to the reset vector at 0xF0000 and to the ELF entry elsewhere', function () {
    assert.deepEqual(defaultEntry('real', 0xf0000), { kind: 'real', segment: 0xf000, offset: 0xfff0 });
    assert.deepEqual(defaultEntry('real', 0x7c00), { kind: 'real', segment: 0x7c0, offset: 0 });
    assert.deepEqual(defaultEntry('long', 0x100000, 0x100040), { kind: 'linear', address: 0x100040 });
  });
});

describe('GDT and page tables', function () {
  it('encodes descriptors like the Linux GDT_ENTRY macro', function () {
    assert.equal(gdtEntry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffn); // 64-bit code
    assert.equal(gdtEntry(0xc093, 0, 0xfffff), 0x00cf93000000ffffn); // flat data
    assert.equal(gdtEntry(0x008b, 0x90100, 0x67), 0x00008b0901000067n); // TSS
  });
  it('identity-maps 4 GiB with 2 MiB pages in long mode, inside the reserved region', function () {
    const mem = new DataView(new ArrayBuffer(1 << 20));
    writeModeTables(mem, 'long');
    const pml4 = 0x91000;
    const pdpt = Number(mem.getBigUint64(pml4, true) & ~0xfffn);
    assert.ok(pdpt >= RESERVED_START && pdpt < RESERVED_END);
    for (const va of [0n, 0x400n, 0x100000n, 0x3fe00000n, 0xd0000000n, 0xffe00000n]) {
      const pd = Number(mem.getBigUint64(pdpt + Number((va >> 30n) & 511n) * 8, true) & ~0xfffn);
      const pde = mem.getBigUint64(pd + Number((va >> 21n) & 511n) * 8, true);
      assert.equal(pde & 0x81n, 0x81n, 'present 2 MiB page');
      assert.equal((pde & ~0xfffn) | (va & 0x1fffffn), va, `identity for 0x${va.toString(16)}`);
    }
  });
});

describe('byte ring', function () {
  it('passes bytes in order across wrap-around and reports fullness', function () {
    const r = new ByteRing(8);
    assert.equal(r.write([1, 2, 3, 4, 5, 6]), 6);
    assert.deepEqual(Array.from(r.read()), [1, 2, 3, 4, 5, 6]);
    assert.equal(r.write([7, 8, 9, 10, 11, 12, 13, 14, 15]), 8, 'only the capacity fits');
    assert.equal(r.writeByte(16), false);
    assert.equal(r.readByte(), 7);
    assert.deepEqual(Array.from(r.read()), [8, 9, 10, 11, 12, 13, 14]);
    assert.equal(r.readByte(), -1);
  });
});

describe('16550 UART', function () {
  const make = () => {
    const out: number[] = [];
    const input: number[] = [];
    const uart = new Uart16550(0x3f8, { write: (b) => out.push(b) }, { read: () => input.shift() ?? -1, available: () => input.length > 0 });
    return { uart, out, input };
  };
  it('transmits on THR and always reports THRE|TEMT so polling guests proceed', function () {
    const { uart, out } = make();
    assert.equal(uart.ioRead(0x3fd, 1) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
    uart.ioWrite(0x3f8, 1, 0x41);
    assert.deepEqual(out, [0x41]);
  });
  it('sets DR while input is queued and hands it out on RBR', function () {
    const { uart, input } = make();
    assert.equal(uart.ioRead(0x3fd, 1) & LSR_DR, 0);
    input.push(0x61, 0x62);
    assert.equal(uart.ioRead(0x3fd, 1) & LSR_DR, LSR_DR);
    assert.equal(uart.ioRead(0x3f8, 1), 0x61);
    assert.equal(uart.ioRead(0x3f8, 1), 0x62);
    assert.equal(uart.ioRead(0x3fd, 1) & LSR_DR, 0);
  });
  it('has a divisor latch behind DLAB and a scratch register', function () {
    const { uart, out } = make();
    uart.ioWrite(0x3fb, 1, 0x83); // DLAB on, 8N1
    uart.ioWrite(0x3f8, 1, 0x01);
    uart.ioWrite(0x3f9, 1, 0x00);
    uart.ioWrite(0x3fb, 1, 0x03);
    assert.equal(uart.divisor, 1);
    assert.deepEqual(out, [], 'divisor writes are not output');
    uart.ioWrite(0x3ff, 1, 0x5a);
    assert.equal(uart.ioRead(0x3ff, 1), 0x5a);
  });
  it('loops transmitted bytes back to the receiver in loopback mode', function () {
    const { uart, out } = make();
    uart.ioWrite(0x3fc, 1, 0x10);
    uart.ioWrite(0x3f8, 1, 0x55);
    assert.deepEqual(out, []);
    assert.equal(uart.ioRead(0x3fd, 1) & LSR_DR, LSR_DR);
    assert.equal(uart.ioRead(0x3f8, 1), 0x55);
  });
});

describe('port bus and string I/O exits', function () {
  function runArea(dir: number, size: number, port: number, count: number, data: number[]): { run8: Uint8Array; view: DataView } {
    const buf = new ArrayBuffer(8192);
    const run8 = new Uint8Array(buf);
    const view = new DataView(buf);
    run8[OFFSET['kvm_run.io.direction']] = dir;
    run8[OFFSET['kvm_run.io.size']] = size;
    view.setUint16(OFFSET['kvm_run.io.port'], port, true);
    view.setUint32(OFFSET['kvm_run.io.count'], count, true);
    view.setBigUint64(OFFSET['kvm_run.io.data_offset'], 4096n, true);
    run8.set(data, 4096);
    return { run8, view };
  }
  const counters = (): ExitCounters => new ExitCounters();

  it('serves a rep outsb exit with count > 1 as every byte, counted per port and as one IO exit per element', function () {
    const seen: UnmappedAccess[] = [];
    const bus = new PortBus((a) => seen.push(a));
    const out: number[] = [];
    bus.register(new DebugConsolePort({ write: (b) => out.push(b) }), 0xe9);
    const text = Buffer.from('Hello, World!\n');
    const { run8, view } = runArea(1, 1, 0xe9, text.length, Array.from(text));
    const c = counters();
    serveIoExit(run8, view, bus, c);
    assert.equal(Buffer.from(out).toString(), 'Hello, World!\n');
    assert.equal(c.portOut[0xe9], 14);
    const stats = c.snapshot();
    assert.deepEqual(stats.exits, { IO: 14 }, 'one IO exit per element, however many arrive in one KVM exit');
    assert.deepEqual(stats.ports, { 0xe9: { in: 0, out: 14 } });
    assert.equal(stats.total, 14);
    assert.deepEqual(seen, []);
  });
  it('fills rep insw data from the device and returns all-ones from unmapped ports, reported once', function () {
    const seen: UnmappedAccess[] = [];
    const bus = new PortBus((a) => seen.push(a));
    const { run8, view } = runArea(0, 2, 0x1234, 3, []);
    const c = counters();
    serveIoExit(run8, view, bus, c);
    assert.deepEqual(Array.from(run8.subarray(4096, 4102)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert.equal(c.portIn[0x1234], 3);
    assert.deepEqual(c.snapshot().exits, { IO: 3 });
    assert.deepEqual(seen, [{ space: 'port', address: 0x1234, write: false, size: 2 }]);
    bus.write(0x1234, 1, 0);
    bus.write(0x1234, 1, 0);
    assert.equal(seen.length, 2, 'the first write is reported, later ones only counted');
    assert.equal(bus.unmappedCount, 5);
  });
});
