// Interrupt delivery timing that kvm-unit-tests' eventinj relies on, against QEMU TCG: a guest enables
// its local APIC, sets IF and, inside a counting loop, sends itself an IPI; QEMU takes it before the
// next instruction. The software CPU must too, without running any instruction twice. (Not on
// kvm_pvm: the handler returns with a 32-bit IRET, which it cannot emulate.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { cli, ROOT, runJson } from '../helpers/cli';
import { tcgOnly } from '../helpers/accelerators';
import { describeWithQemu, qemuKernel } from '../helpers/qemu';

const SELF_IPI = path.join(ROOT, 'test', 'guests', 'multiboot', 'self-ipi.c');
// Whether the handler has run by the load right after the store is not architectural (QEMU takes the
// interrupt at the end of the translated block: 0; the software CPU before the next instruction: 1);
// that it runs once, before the loop goes on, and that nothing runs twice, is.
const EXPECTED = /^counter=3006 handler runs=1 right after the ICR write=[01] iterations waited=0\n$/;

describeWithQemu('self-IPI under QEMU TCG (the reference)', function () {
  this.timeout(60000);
  it('QEMU runs the handler once, before the loop goes on', function () {
    const built = cli(['build', SELF_IPI, '--mode', 'protected']);
    assert.equal(built.status, 0, built.stderr);
    const r = qemuKernel(built.stdout.split('\n')[0]);
    assert.match(r.serial, EXPECTED);
    assert.equal(r.status, 1);
  });
});

tcgOnly('self-IPI', function () {
  this.timeout(60000);
  // With a virtio device the software CPU runs in counted pieces (Unicorn's count hook before every
  // instruction); without one, in one uncounted run: the store stops either.
  for (const [how, extra] of [['in one uncounted run', []], ['in counted pieces (a virtio device is live)', ['--device', 'virtio-rng']]] as const) {
    it(`the software CPU runs the handler once, before the loop goes on, with no instruction run twice, as QEMU does (${how})`, function () {
      const { status, json } = runJson([SELF_IPI, '--accel', 'tcg', ...extra]);
      assert.equal(json.outcome, 'exited', json.message);
      assert.match(json.serial, EXPECTED);
      assert.equal(status, 1);
      assert.equal(json.interrupts?.vectors?.['0x40'], 1);
    });
  }
});
