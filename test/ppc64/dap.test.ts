// The PowerPC 64 seed's guest through the real debug adapter process, as F5 launches it: built with
// the cross binutils, run on the software CPU, in both byte orders. Expected values come from the
// seed (R16 = 8, R17 = 4, R18 = 32; the code at 0x100: li 0x100, li 0x104, mullw 0x108, so the
// program ends at 0x10c) and from the Power ISA (MSR bit 0 SF, bit 63 LE), not from our own output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, guest } from '../helpers/cli';
import { MessageStream, send } from '../helpers/stdio-rpc';
import { ADAPTER, lineOf, Session } from '../helpers/dap-session';
import { itWithPpc64Tools } from '../helpers/ppc64-tools';

const SEED = guest('ppc64', 'seed.s');
const HELLO = guest('ppc64', 'hello.s');

describe('ppc64: debug adapter (DAP) on the software CPU', function () {
  this.timeout(60000);
  const open: Session[] = [];
  const session = async (): Promise<Session> => {
    const x = await new Session(undefined).start();
    open.push(x);
    return x;
  };
  let tmp: string;
  before(function () {
    assert.ok(fs.existsSync(ADAPTER), `${ADAPTER} is built by npm run build`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-dap-'));
  });
  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async function () {
    for (const x of open.splice(0)) await x.end();
  });

  itWithPpc64Tools(['big'], 'F5 on the seed\'s code.s (the configuration the extension makes for it) builds it, runs it and ends with exit code 0', async function () {
    const x = await session();
    const terminated = x.dc.waitForEvent('terminated', 20000);
    // extension/debug-config.ts: the active file as program, plus the kvmGuest.* settings' defaults.
    await x.launch({ type: 'kvm-guest', request: 'launch', name: 'Debug guest', program: SEED, memory: '2M', accel: 'auto' });
    await terminated;
    assert.equal(x.exitCode, 0);
    assert.match(x.output, /ppc64 big-endian \(architecture from the source's POWER instructions/);
    assert.match(x.output, /ran off the end of the program at 0x10c/);
    assert.deepEqual(x.accelerators.map((a) => a.name), ['tcg']);
  });

  itWithPpc64Tools(['big'], 'Run Without Debugging (noDebug) does not stop at breakpoints', async function () {
    const x = await session();
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.launch({ program: SEED, noDebug: true }, { [SEED]: [lineOf(SEED, /mullw/)] });
    await terminated;
    assert.equal(x.exitCode, 0);
  });

  for (const endian of ['big', 'little'] as const) {
    itWithPpc64Tools([endian], `a breakpoint on the mullw line stops with R18 still 0; one step later R18 = 32 (${endian}-endian)`, async function () {
      const x = await session();
      const mullw = lineOf(SEED, /mullw/);
      await x.launch({ program: SEED, endian }, { [SEED]: [mullw] });
      const ev = await x.stopped();
      assert.equal(ev.body.reason, 'breakpoint');
      const top = await x.top();
      assert.equal(top.line, mullw);
      assert.equal(top.source?.path, SEED);
      assert.equal(top.instructionPointerReference, '0x108');
      let regs = await x.registers();
      assert.equal(BigInt(regs.r16), 8n);
      assert.equal(BigInt(regs.r17), 4n);
      assert.equal(BigInt(regs.r18), 0n);
      assert.equal(BigInt(regs.pc), 0x108n);
      const after = await x.step('next');
      assert.equal(after.instructionPointerReference, '0x10c');
      regs = await x.registers();
      assert.equal(BigInt(regs.r18), 32n);
      // MSR decoded bit by bit: SF (64-bit) set; LE as the byte order says.
      const vars = await x.scope('Registers');
      const msr = await x.children(vars.msr);
      assert.equal(msr.SF, '1');
      assert.equal(msr.LE, endian === 'little' ? '1' : '0');
      const cr = await x.children(vars.cr);
      assert.deepEqual(Object.keys(cr), ['cr0', 'cr1', 'cr2', 'cr3', 'cr4', 'cr5', 'cr6', 'cr7']);
      for (const n of ['lr', 'ctr', 'xer']) assert.ok(n in regs, n);
      // Memory through the Debug Console reads as the guest reads it, in either byte order: the mullw word.
      assert.equal(await x.repl('*(u32*)0x108'), '0x7e5089d6');
      assert.equal(await x.repl('r16 * r17 == r18'), '0x1');
      // Continuing from the end of the program ends the session cleanly.
      const terminated = x.dc.waitForEvent('terminated', 20000);
      await x.dc.continueRequest({ threadId: 1 });
      await terminated;
      assert.equal(x.exitCode, 0);
    });
  }

  itWithPpc64Tools(['big'], 'steps by instruction from the entry, reads memory, disassembles and evaluates POWER registers', async function () {
    const x = await session();
    await x.launch({ program: SEED, stopOnEntry: true });
    assert.equal((await x.stopped()).body.reason, 'entry');
    assert.equal((await x.top()).instructionPointerReference, '0x100');
    const next = await x.step('stepIn', 'instruction');
    assert.equal(next.instructionPointerReference, '0x104');
    assert.equal(next.line, 2);
    assert.equal(BigInt((await x.registers()).r16), 8n);
    const mem = await x.dc.customRequest('readMemory', { memoryReference: '0x100', count: 12 });
    assert.equal(Buffer.from(mem.body.data, 'base64').toString('hex'), '3a0000083a2000047e5089d6');
    const dis = await x.dc.customRequest('disassemble', { memoryReference: '0x100', instructionCount: 4 });
    const ins = dis.body.instructions as { address: string; instruction: string; instructionBytes: string }[];
    assert.equal(ins.length, 4);
    assert.deepEqual(ins.slice(0, 3).map((i) => [i.address, i.instructionBytes, i.instruction]), [
      ['0x100', '3a 00 00 08', 'li r16,8'],
      ['0x104', '3a 20 00 04', 'li r17,4'],
      ['0x108', '7e 50 89 d6', 'mullw r18,r16,r17'],
    ]);
    assert.equal(await x.repl('r16'), '0x8');
    assert.equal(await x.repl('*(u32*)0x108'), '0x7e5089d6');
    await x.step('next'); // li 17,4
    await x.dc.setVariableRequest({ variablesReference: 1, name: 'r17', value: '5' });
    await x.step('next'); // mullw 18,16,17
    assert.equal(BigInt((await x.registers()).r18), 40n, 'mullw with the R17 the debugger wrote');
  });

  itWithPpc64Tools(['big'], 'writeMemory patches code the CPU already ran past: li 17,4 becomes li 17,5 and R18 = 40', async function () {
    const x = await session();
    await x.launch({ program: SEED, stopOnEntry: true }, { [SEED]: [lineOf(SEED, /mullw/)] });
    await x.stopped();
    await x.step('next'); // li 16,8 has run: its block is translated
    // li 17,5: addi r17,0,5 = 0x3a200005 (Power ISA: opcode 14, RT 17, RA 0, SI 5), big-endian.
    await x.dc.customRequest('writeMemory', { memoryReference: '0x104', data: Buffer.from([0x3a, 0x20, 0x00, 0x05]).toString('base64') });
    const stopped = x.stopped();
    await x.dc.continueRequest({ threadId: 1 });
    assert.equal((await stopped).body.reason, 'breakpoint');
    await x.step('next');
    const regs = await x.registers();
    assert.equal(BigInt(regs.r17), 5n);
    assert.equal(BigInt(regs.r18), 40n);
  });

  itWithPpc64Tools(['big'], 'data breakpoints: a write watch stops after the store, a read watch after the load, saying what and where', async function () {
    const src = path.join(tmp, 'watch.s');
    fs.writeFileSync(src, [
      '# kvm-guest: arch=ppc64', '    lis 9,value@ha', '    addi 9,9,value@l', '    li 3,42', '    stw 3,0(9)', '    lwz 4,0(9)', '    li 5,1',
      '    .data', 'value:', '    .long 0', '',
    ].join('\n'));
    const x = await session();
    await x.launch({ program: src, stopOnEntry: true });
    await x.stopped();
    const info = await x.dc.dataBreakpointInfoRequest({ name: 'value' });
    assert.ok(info.body.dataId, info.body.description);
    assert.deepEqual(info.body.accessTypes, ['read', 'write', 'readWrite']);
    const set = await x.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    let ev = await x.continueTo();
    assert.equal(ev.body.reason, 'data breakpoint');
    // stw is the fourth instruction (0x10c); the run stops before the fifth (0x110). 42 stored big-endian.
    assert.match(ev.body.description ?? '', /^Data breakpoint: write of 4 bytes \(00 00 00 2a\) to 0x[0-9a-f]+ by the instruction at 0x10c \(watch\.s:5\)$/);
    assert.equal((await x.top()).instructionPointerReference, '0x110');
    await x.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'read' }] });
    ev = await x.continueTo();
    assert.match(ev.body.description ?? '', /^Data breakpoint: read of 4 bytes \(00 00 00 2a\) from 0x[0-9a-f]+ by the instruction at 0x110 \(watch\.s:6\)$/);
    assert.equal(BigInt((await x.registers()).r4), 42n);
  });

  itWithPpc64Tools(['big'], 'pauses a guest spinning in a loop, and stops at an illegal instruction saying where', async function () {
    const spin = path.join(tmp, 'spin.s');
    fs.writeFileSync(spin, '# kvm-guest: arch=ppc64\nloop:\n    addi 3,3,1\n    b loop\n');
    const x = await session();
    await x.launch({ program: spin });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = x.stopped();
    await x.dc.pauseRequest({ threadId: 1 });
    assert.equal((await stopped).body.reason, 'pause');
    assert.ok(BigInt((await x.registers()).r3) > 0n);

    const bad = path.join(tmp, 'illegal.s');
    fs.writeFileSync(bad, '# kvm-guest: arch=ppc64\n    li 3,1\n    .long 0\n');
    const y = await session();
    await y.launch({ program: bad });
    const ev = await y.stopped();
    assert.equal(ev.body.reason, 'exception');
    assert.match(ev.body.description ?? '', /illegal instruction at 0x104/);
    // A .long has no line-table row of its own (gas gives rows to instructions): the PC says where.
    assert.equal((await y.top()).instructionPointerReference, '0x104');
  });

  itWithPpc64Tools(['big'], 'breakpoint conditions, hit counts and log messages (the shared expression language over POWER registers)', async function () {
    const loop = path.join(tmp, 'loop.s');
    fs.writeFileSync(loop, '# kvm-guest: arch=ppc64\n    li 3,0\nloop:\n    addi 3,3,1\n    cmpwi 3,10\n    bne loop\n');
    const x = await session();
    await x.launch({ program: loop }, { [loop]: [{ line: 4, condition: 'r3 == 5' }, { line: 5, logMessage: 'r3={r3,d}' }] });
    assert.equal((await x.stopped()).body.reason, 'breakpoint');
    assert.equal(BigInt((await x.registers()).r3), 5n);
    assert.match(x.output, /r3=1\n[^]*r3=5\n/);
    assert.doesNotMatch(x.output, /r3=6\n/);
    await x.dc.setBreakpointsRequest({ source: { path: loop }, breakpoints: [{ line: 4, hitCondition: '3' }] });
    const stopped = x.stopped();
    await x.dc.continueRequest({ threadId: 1 });
    await stopped;
    // Resuming from the addi at r3 = 5 executes it; the new breakpoint's hits are r3 = 6, 7, 8.
    assert.equal(BigInt((await x.registers()).r3), 8n, 'the third hit of the new breakpoint');
    assert.match(await x.repl('.regs'), /^R 0: 0\tR 1: 0\tR 2: 0\tR 3: 8\t\n/);
  });

  itWithPpc64Tools(['big'], 'restart starts the guest afresh; terminate ends a guest that is running', async function () {
    const x = await session();
    await x.launch({ program: SEED, stopOnEntry: true }, { [SEED]: [lineOf(SEED, /mullw/)] });
    await x.stopped();
    await x.continueTo();
    assert.equal(BigInt((await x.registers()).r16), 8n);
    const again = x.stopped();
    await x.dc.restartRequest({});
    assert.equal((await again).body.reason, 'entry');
    const regs = await x.registers();
    assert.deepEqual([BigInt(regs.pc), BigInt(regs.r16)], [0x100n, 0n], 'a fresh machine');

    const spin = path.join(tmp, 'spin2.s');
    fs.writeFileSync(spin, '# kvm-guest: arch=ppc64\nloop:\n    b loop\n');
    const y = await session();
    await y.launch({ program: spin });
    await new Promise((r) => setTimeout(r, 200));
    const terminated = y.dc.waitForEvent('terminated', 5000);
    await y.dc.terminateRequest({});
    await terminated;
  });

  itWithPpc64Tools(['big'], 'hello.s prints through the output port into the Debug Console', async function () {
    const x = await session();
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.launch({ program: HELLO });
    await terminated;
    assert.equal(x.stdout, 'Hello from POWER!\n');
  });

  itWithPpc64Tools(['big'], 'a call with bl: the caller\'s frame from LR, step over runs the call, step out returns to the caller', async function () {
    const src = path.join(tmp, 'call.s');
    fs.writeFileSync(src, [
      '# kvm-guest: arch=ppc64', '_start:', '    li 3,1', '    bl double', '    li 4,2', '    b end', 'double:', '    add 3,3,3', '    blr', 'end:', '',
    ].join('\n'));
    const x = await session();
    await x.launch({ program: src }, { [src]: [lineOf(src, /add 3,3,3/)] });
    assert.equal((await x.stopped()).body.reason, 'breakpoint');
    const frames = (await x.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((f) => [f.name, f.line]), [['double', lineOf(src, /add 3,3,3/)], ['_start+0x4', lineOf(src, /bl double/)]]);
    const out = await x.step('stepOut');
    assert.equal(out.line, lineOf(src, /li 4,2/));
    assert.equal(BigInt((await x.registers()).r3), 2n);

    const y = await session();
    await y.launch({ program: src }, { [src]: [lineOf(src, /bl double/)] });
    await y.stopped();
    const over = await y.step('next');
    assert.equal(over.line, lineOf(src, /li 4,2/), 'next runs the whole call');
    assert.equal(BigInt((await y.registers()).r3), 2n);
  });

  itWithPpc64Tools(['big'], '`kvm-guest dap --arch ppc64` makes launches ppc64 when neither they nor the program say', async function () {
    // Only data directives: nothing in the file says POWER (the words are the seed's instructions).
    const words = path.join(tmp, 'words.s');
    fs.writeFileSync(words, '    .long 0x3a000008\n    .long 0x3a200004\n    .long 0x7e5089d6\n');
    const child = spawn(process.execPath, [CLI, 'dap', '--arch', 'ppc64'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const stream = new MessageStream(child);
    try {
      send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
      await stream.waitFor('initialized', (m) => m.event === 'initialized');
      send(child, { seq: 2, type: 'request', command: 'launch', arguments: { program: words } });
      const launched = await stream.waitFor('the launch response', (m) => m.command === 'launch');
      assert.equal(launched.success, true, launched.message);
      send(child, { seq: 3, type: 'request', command: 'configurationDone', arguments: {} });
      const exited = await stream.waitFor('exited', (m) => m.event === 'exited');
      assert.equal(exited.body.exitCode, 0);
      const text = stream.messages.filter((m) => m.event === 'output').map((m) => m.body.output).join('');
      assert.match(text, /words\.s: ppc64 big-endian \(architecture from --arch/);
      assert.match(text, /ran off the end of the program at 0x10c/);
    } finally {
      child.stdin.end();
      child.kill();
    }
  });

  itWithPpc64Tools(['big'], 'a build error fails the launch and names file:line', async function () {
    const bad = path.join(tmp, 'broken.s');
    fs.writeFileSync(bad, '# kvm-guest: arch=ppc64\n    li 3,1\n    frobnicate 3\n');
    const x = await session();
    await assert.rejects(x.dc.launchRequest({ program: bad } as never), /Build failed: .*broken\.s:3/);
    assert.match(x.output, /broken\.s:3: error: .*frobnicate/);
  });
});
