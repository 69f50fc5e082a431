// README, "CPU modes: the initial state": paged32 is protected mode plus CR0.PG with 4 MiB pages
// (CR4.PSE) identity-mapping 4 GiB, the page directory at 0x97000 inside the monitor's reserved
// region. Read back with the real CLI's --peek after a paged32 guest ran on the software CPU (the
// mode KVM may lack), and checked entry by entry against the IA-32 format of a 4 MiB PDE (SDM
// vol. 3A, 4.3: bit 0 P, bit 1 R/W, bit 7 PS, bits 31:22 the page frame, bits 21:13 reserved).
import assert from 'node:assert/strict';
import { guest, runJson } from '../helpers/cli';

describe('README: the paged32 page tables [tcg: software CPU]', function () {
  this.timeout(120000);

  it('CR3 = 0x97000 and its 1024 PDEs identity-map 4 GiB with present, writable 4 MiB pages', function () {
    const { status, json } = runJson([guest('hello-world', 'hello.c'), '--mode', 'paged32', '--peek', '0x97000:4096', '--accel', 'tcg']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'Hello, world!\n');
    const cr0 = BigInt(json.registers.cr0);
    const cr4 = BigInt(json.registers.cr4);
    assert.equal(cr0 & 0x80000001n, 0x80000001n, 'CR0.PG and CR0.PE');
    assert.equal(cr4 & 0x10n, 0x10n, 'CR4.PSE: 4 MiB pages');
    assert.equal(cr4 & 0x20n, 0n, 'CR4.PAE clear: 32-bit paging, not PAE');
    assert.equal(BigInt(json.registers.cr3) & ~0xfffn, 0x97000n, 'the page directory at 0x97000');
    const dir = Buffer.from(json.memory['0x97000'], 'hex');
    assert.equal(dir.length, 4096);
    for (let i = 0; i < 1024; i++) {
      const pde = dir.readUInt32LE(i * 4);
      const what = `PDE ${i} = 0x${pde.toString(16)}`;
      assert.equal(pde & 1, 1, `${what}: present`);
      assert.equal(pde & 2, 2, `${what}: writable`);
      assert.equal(pde & 0x80, 0x80, `${what}: PS, a 4 MiB page`);
      assert.equal(pde >>> 22, i, `${what}: maps linear ${i} << 22 to the same physical address`);
      assert.equal((pde >>> 13) & 0x1ff, 0, `${what}: reserved bits 21:13 clear`);
    }
  });
});
