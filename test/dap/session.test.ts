// The debug adapter as a client sees it: the real adapter process (dist/debug-adapter.js) driven by
// @vscode/debugadapter-testsupport's DebugClient, real guests built by the real toolchain, on each
// accelerator: the launch attribute `accel` (or KVM_GUEST_ACCEL in the adapter's environment).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guest } from '../helpers/cli';
import { describeKvmOnly, forEachAccelerator } from '../helpers/accelerators';
import { kvmReference } from '../helpers/kvm-reference';
import { ADAPTER, lineOf, Session } from '../helpers/dap-session';

const KERNEL1 = guest('linux-journal', 'kernel1.S');
const KERNEL2 = guest('linux-journal', 'kernel2.S');
const KERNEL3 = guest('linux-journal', 'kernel3.S');
const HELLO_C = guest('hello-world', 'hello.c');
const PLAYGROUND = guest('long-mode-playground', 'playground.S');

forEachAccelerator('debug adapter (DAP)', function (accel) {
  this.timeout(60000);
  const open: Session[] = [];
  const s = async (env?: NodeJS.ProcessEnv): Promise<Session> => {
    const x = await new Session(env ? undefined : accel, { env }).start();
    open.push(x);
    return x;
  };
  // On KVM: DR0–DR3 where the tests' own probe of this host sees them fire, else scanning.
  const breakpointLine = (): RegExp =>
    accel === 'tcg'
      ? /Breakpoints: exact and unlimited on the software CPU \(Unicorn [^)]*\) \(code hooks\); data breakpoints: read, write, readWrite\./
      : kvmReference().hardwareBreakpoints
        ? /Breakpoints: hardware debug registers DR0–DR3 for up to 4 at once, single-step scanning beyond/
        : /Breakpoints: single-step scanning \(hardware debug registers do not fire on this host/;
  const runningOn = accel === 'tcg' ? /^Running on the software CPU \(Unicorn [^)]*\) as asked/m : /^Running on KVM\b/m;
  before(function () {
    assert.ok(fs.existsSync(ADAPTER), `${ADAPTER} is built by npm test's pretest`);
  });
  afterEach(async function () {
    for (const x of open.splice(0)) await x.end();
  });

  const outputs: [string, Record<string, unknown>, RegExp][] = [
    ['kernel2', { program: KERNEL2 }, /^Hello\n$/],
    ['kernel3', { program: KERNEL3 }, /^Hello, World!\n$/],
    ['hello.c (protected)', { program: HELLO_C, mode: 'protected' }, /^Hello, world!\n$/],
    ['hello.c (long)', { program: HELLO_C, mode: 'long' }, /^Hello, world!\n$/],
    ['hello16', { program: guest('hello-world', 'hello16.s'), mode: 'real', loadAddress: '0', entry: '0000:0000' }, /^Hello, world!\n$/],
    ['playground', { program: PLAYGROUND }, /hello from 64-bit mode on the 16550 UART\nmmio read32 \[0xd0000000\] = 0xffffffff\n/],
    ['protected-elf', { program: guest('protected-elf', 'protected.S') }, /^protected mode: yes\npaging: off\n$/],
  ];
  for (const [name, args, expected] of outputs) {
    it(`launch ${name}: the serial output reaches the Debug Console and the session exits with 0`, async function () {
      const x = await s();
      const terminated = x.dc.waitForEvent('terminated', 20000);
      await x.launch(args);
      await terminated;
      assert.match(x.stdout, expected);
      assert.equal(x.exitCode, 0);
      assert.match(x.output, breakpointLine());
      assert.match(x.output, runningOn);
      assert.deepEqual(x.accelerators.map((a) => a.name), [accel], 'one kvmGuest.accelerator event, naming the accelerator');
    });
  }

  it(`KVM_GUEST_ACCEL=${accel} in the adapter's environment chooses the accelerator of a launch without "accel"`, async function () {
    const x = await s({ KVM_GUEST_ACCEL: accel });
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.launch({ program: KERNEL2 });
    await terminated;
    assert.equal(x.stdout, 'Hello\n');
    assert.deepEqual(x.accelerators.map((a) => a.name), [accel]);
    assert.match(x.output, runningOn);
  });

  it('a source breakpoint set before the build binds, stops on its line with the registers of that moment', async function () {
    const x = await s();
    const line = lineOf(KERNEL2, /'l'/); // mov $0x6c,%al — the first 'l'
    await x.dc.initializeRequest().catch(() => undefined);
    const early = await x.dc.setBreakpointsRequest({ source: { path: KERNEL2 }, breakpoints: [{ line }] });
    assert.equal(early.body.breakpoints[0].verified, false);
    const bound = x.dc.waitForEvent('breakpoint');
    const stopped = x.stopped();
    await x.dc.launchRequest(x.args({ program: KERNEL2 }));
    assert.equal(((await bound) as DebugProtocol.BreakpointEvent).body.breakpoint.verified, true);
    await x.dc.configurationDoneRequest();
    const ev = await stopped;
    assert.equal(ev.body.reason, 'breakpoint');
    const top = await x.top();
    assert.equal(top.line, line);
    assert.equal(top.source?.path, KERNEL2);
    const regs = await x.registers();
    assert.equal(regs.ax, '0x0065', "AL = 'e', written by the line before");
    assert.equal(x.stdout, 'He');
  });

  it('a line without code moves to the next line with code; a file outside the program is unverified with a reason', async function () {
    const x = await s();
    await x.launch({ program: KERNEL2, stopOnEntry: true });
    await x.stopped();
    const comment = lineOf(KERNEL2, /^\s*\*/); // inside the header comment
    const r = await x.dc.setBreakpointsRequest({ source: { path: KERNEL2 }, breakpoints: [{ line: comment }] });
    assert.equal(r.body.breakpoints[0].verified, true);
    assert.ok(r.body.breakpoints[0].line! > comment);
    assert.match(r.body.breakpoints[0].message!, /moved to line/);
    const other = await x.dc.setBreakpointsRequest({ source: { path: HELLO_C }, breakpoints: [{ line: 14 }] });
    assert.equal(other.body.breakpoints[0].verified, false);
    assert.match(other.body.breakpoints[0].message!, /not part of this program/);
  });

  it('steps over, in and out by line and lands on the expected lines', async function () {
    const x = await s();
    const callLine = lineOf(PLAYGROUND, /call\s+serial_puts/);
    await x.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [callLine] });
    await x.stopped();
    assert.equal((await x.top()).line, callLine);
    // step over the call: the whole banner is printed, we are on the next line with code
    let top = await x.step('next');
    assert.equal(top.line, lineOf(PLAYGROUND, /MMIO_PROBE_ADDRESS, %ebx/));
    assert.match(x.stdout, /UART\n$/);
    // next line, then into the second serial_puts call
    top = await x.step('next');
    top = await x.step('next');
    assert.equal(top.line, lineOf(PLAYGROUND, /leaq\s+probe_msg/));
    top = await x.step('next');
    assert.equal(top.line, lineOf(PLAYGROUND, /call\s+serial_puts/, callLine + 1));
    top = await x.step('stepIn');
    assert.equal(top.line, lineOf(PLAYGROUND, /movzbl\s+\(%rsi\), %edi/));
    assert.equal(top.name, 'serial_puts');
    // out of serial_puts: back in _start after the call
    top = await x.step('stepOut');
    assert.equal(top.name.split('+')[0], '_start');
    assert.equal(top.line, lineOf(PLAYGROUND, /movl\s+%r12d, %edi/));
    assert.match(x.stdout, /= 0x$/);
  });

  it('the call stack of an assembly guest without frame pointers shows its callers', async function () {
    const x = await s();
    await x.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [lineOf(PLAYGROUND, /outb\s+%al, %dx/)] });
    await x.stopped();
    const frames = (await x.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.slice(0, 3).map((f) => f.name.split('+')[0]), ['serial_putc', 'serial_puts', '_start']);
    assert.equal(frames[1].line, lineOf(PLAYGROUND, /call\s+serial_putc/, lineOf(PLAYGROUND, /^serial_puts:/)));
    assert.ok(frames.every((f) => f.instructionPointerReference?.startsWith('0x')));
  });

  it('instruction stepping advances one instruction at a time', async function () {
    const x = await s();
    await x.launch({ program: KERNEL2, stopOnEntry: true });
    const ev = await x.stopped();
    assert.equal(ev.body.reason, 'entry');
    let top = await x.top();
    assert.equal(top.instructionPointerReference, '0xffff0');
    top = await x.step('stepIn', 'instruction'); // the ljmp to start
    assert.equal(top.instructionPointerReference, '0xf0000');
    top = await x.step('next', 'instruction'); // mov $0x48,%al (2 bytes)
    assert.equal(top.instructionPointerReference, '0xf0002');
    top = await x.step('next', 'instruction'); // out (2 bytes)
    assert.equal(top.instructionPointerReference, '0xf0004');
    assert.equal(x.stdout, 'H');
  });

  it('pauses kernel1 spinning in its loop', async function () {
    const x = await s();
    await x.launch({ program: KERNEL1 });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = x.stopped();
    await x.dc.pauseRequest({ threadId: 1 });
    assert.equal((await stopped).body.reason, 'pause');
    assert.equal((await x.top()).line, lineOf(KERNEL1, /jmp\s+1b/));
  });

  it('five breakpoints at once all hit, in order', async function () {
    const x = await s();
    const lines = [/'e'/, /'l'/, /'o'/, /new_line|'\\n'/, /hlt/].map((p) => lineOf(KERNEL2, p));
    await x.launch({ program: KERNEL2 }, { [KERNEL2]: lines });
    const hit: number[] = [];
    await x.stopped();
    hit.push((await x.top()).line);
    for (let i = 1; i < lines.length; i++) {
      await x.continueTo();
      hit.push((await x.top()).line);
    }
    assert.deepEqual(hit, lines);
    if (accel === 'kvm') assert.match(x.output, kvmReference().hardwareBreakpoints ? /5 breakpoints: more than the 4 debug registers/ : /Breakpoints: single-step scanning/);
    else assert.doesNotMatch(x.output, /more than the/, 'the software CPU arms any number of breakpoints');
  });

  it('conditional, hit-count and log breakpoints', async function () {
    const out = lineOf(PLAYGROUND, /outb\s+%al, %dx/);
    const a = await s();
    await a.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [{ line: out, condition: 'al == 0x2d' }] }); // '-'
    await a.stopped();
    assert.equal(a.stdout, 'long');
    const b = await s();
    await b.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [{ line: out, hitCondition: '3' }] });
    await b.stopped();
    assert.equal(b.stdout, 'lo');
    const c = await s();
    const terminated = c.dc.waitForEvent('terminated', 20000);
    await c.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [{ line: out, logMessage: 'char {(u8)rax}' }] });
    await terminated;
    const logged = c.messages.filter((l) => l.startsWith('char '));
    assert.ok(logged.length > 60, `${logged.length} log lines`);
    assert.match(logged[0], /^char (0x)?6c\n$/);
  });

  it('a write data breakpoint stops at the store to 0x400, naming the writing instruction', async function () {
    const x = await s();
    await x.launch({ program: HELLO_C, mode: 'protected', stopOnEntry: true });
    await x.stopped();
    const info = await x.dc.customRequest('dataBreakpointInfo', { name: '0x400', asAddress: true, bytes: 4 });
    assert.ok(info.body.dataId);
    assert.deepEqual(info.body.accessTypes, accel === 'tcg' ? ['read', 'write', 'readWrite'] : ['write']);
    const set = await x.dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: info.body.dataId, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    const ev = await x.continueTo();
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.match(ev.body.description!, new RegExp(`write of 4 bytes \\(2a 00 00 00\\) to 0x400 by mov.*hello\\.c:${lineOf(HELLO_C, /\*\(volatile long \*\)0x400 = 42/)}`));
    assert.equal(x.stdout, 'Hello, world!\n');
    const mem = await x.dc.customRequest('readMemory', { memoryReference: '0x400', count: 4 });
    assert.equal(Buffer.from(mem.body.data, 'base64').readUInt32LE(0), 42);
  });

  if (accel === 'tcg') {
    it('a read data breakpoint stops at the reading instruction (rep outsb reading the greeting), naming the byte read', async function () {
      const x = await s();
      await x.launch({ program: KERNEL3, stopOnEntry: true });
      await x.stopped();
      const info = await x.dc.customRequest('dataBreakpointInfo', { name: 'greeting', bytes: 1 });
      assert.ok(info.body.dataId, info.body.description);
      assert.deepEqual(info.body.accessTypes, ['read', 'write', 'readWrite']);
      const set = await x.dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: info.body.dataId, accessType: 'read' }] });
      assert.equal(set.body.breakpoints[0].verified, true, set.body.breakpoints[0].message);
      assert.match(set.body.breakpoints[0].message, /^read watch on 1 bytes at 0x/);
      const ev = await x.continueTo();
      assert.equal(ev.body.reason, 'data breakpoint');
      const outsb = lineOf(KERNEL3, /rep\/outsb/);
      // "H" is the first byte rep outsb reads through CS:SI.
      assert.match(ev.body.description!, new RegExp(`read of 1 byte \\(48\\) from 0x[0-9a-f]+ by (cs )?rep outsb\\b.* at 0x[0-9a-f]+ \\(kernel3\\.S:${outsb}\\)$`));
      assert.equal((await x.top()).line, outsb, 'a rep string instruction stays at itself between iterations');
      assert.ok(x.stdout === '' || x.stdout === 'H', `output so far: ${JSON.stringify(x.stdout)}`);
      const terminated = x.dc.waitForEvent('terminated', 20000);
      await x.dc.continueRequest({ threadId: 1 });
      await terminated;
      assert.equal(x.stdout, 'Hello, World!\n', 'the watch covers only the first byte');
    });
  } else {
    describeKvmOnly('data breakpoints KVM cannot do', function () {
      it('KVM offers write data breakpoints only, and refuses a read one saying why and what can', async function () {
        const x = await s();
        await x.launch({ program: KERNEL3, stopOnEntry: true });
        await x.stopped();
        const info = await x.dc.customRequest('dataBreakpointInfo', { name: 'greeting', bytes: 1 });
        assert.deepEqual(info.body.accessTypes, ['write']);
        const set = await x.dc.customRequest('setDataBreakpoints', {
          breakpoints: [{ dataId: info.body.dataId, accessType: 'read' }, { dataId: info.body.dataId, accessType: 'readWrite' }],
        });
        for (const b of set.body.breakpoints) {
          assert.equal(b.verified, false);
          assert.match(b.message, /^KVM.* watches write accesses only \(read-only memory slots catch writes\); the software CPU \(accel "tcg"\) also watches reads$/);
        }
      });
    });
  }

  it('setVariable on a register changes what the guest does', async function () {
    const x = await s();
    const line = lineOf(KERNEL2, /outb/, lineOf(KERNEL2, /'l'/)); // the outb after the first 'l'
    await x.launch({ program: KERNEL2 }, { [KERNEL2]: [line] });
    await x.stopped();
    const scopes = (await x.dc.scopesRequest({ frameId: 1 })).body.scopes;
    const regs = scopes.find((sc) => sc.name === 'Registers')!;
    const r = await x.dc.setVariableRequest({ variablesReference: regs.variablesReference, name: 'ax', value: '0x58' });
    assert.equal(r.body.value, '0x58');
    const flags = scopes.find((sc) => sc.name === 'Flags')!;
    await x.dc.setVariableRequest({ variablesReference: flags.variablesReference, name: 'ZF', value: '1' });
    assert.match((await x.dc.evaluateRequest({ expression: 'rflags', context: 'repl' })).body.result, /^0x0*42\b/);
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.equal(x.stdout, 'HeXlo\n');
  });

  it('readMemory sees the C guest store 42 at 0x400; writeMemory changes the greeting before it is printed', async function () {
    const a = await s();
    await a.launch({ program: HELLO_C, mode: 'long' }, { [HELLO_C]: [lineOf(HELLO_C, /hlt/)] });
    await a.stopped();
    const mem = await a.dc.customRequest('readMemory', { memoryReference: '0x400', count: 8 });
    assert.equal(Buffer.from(mem.body.data, 'base64').readBigUInt64LE(0), 42n);
    assert.equal(mem.body.unreadableBytes ?? 0, 0);

    const b = await s();
    await b.launch({ program: KERNEL3, stopOnEntry: true });
    await b.stopped();
    const greeting = (await b.dc.evaluateRequest({ expression: 'greeting', context: 'repl' })).body;
    assert.ok(greeting.memoryReference);
    const written = b.dc.waitForEvent('memory');
    const w = await b.dc.customRequest('writeMemory', { memoryReference: greeting.memoryReference, data: Buffer.from('J').toString('base64') });
    assert.equal(w.body.bytesWritten, 1);
    await written;
    const terminated = b.dc.waitForEvent('terminated', 20000);
    await b.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.equal(b.stdout, 'Jello, World!\n');
  });

  it('disassemble with a negative offset returns exactly N instructions matching objdump', async function () {
    const x = await s();
    await x.launch({ program: PLAYGROUND }, { [PLAYGROUND]: [lineOf(PLAYGROUND, /outb\s+%al, %dx/)] });
    await x.stopped();
    const pc = (await x.top()).instructionPointerReference!;
    const dis = await x.dc.customRequest('disassemble', { memoryReference: pc, instructionOffset: -6, instructionCount: 20 });
    const list = dis.body.instructions as DebugProtocol.DisassembledInstruction[];
    assert.equal(list.length, 20);
    assert.equal(list[6].address, pc);
    const elf = path.join(path.dirname(PLAYGROUND), 'build', 'playground.long.elf');
    const objdump = new Map<string, string>();
    for (const line of execFileSync('objdump', ['-d', elf], { encoding: 'utf8' }).split('\n')) {
      const m = /^\s+([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)/.exec(line);
      if (m) objdump.set('0x' + m[1], m[2].trim());
    }
    for (const ins of list) assert.equal(ins.instructionBytes, objdump.get(ins.address), `bytes at ${ins.address}`);
    assert.ok(list.some((i) => i.symbol === 'serial_putc'));
    assert.ok(list.some((i) => i.line === lineOf(PLAYGROUND, /outb\s+%al, %dx/)));
  });

  it('evaluates registers in any spelling, symbols, arithmetic and dereferences, and runs machine commands', async function () {
    const x = await s();
    await x.launch({ program: HELLO_C, mode: 'long' }, { [HELLO_C]: [lineOf(HELLO_C, /hlt/)] });
    await x.stopped();
    const ev = async (expression: string): Promise<string> => (await x.dc.evaluateRequest({ expression, context: 'repl' })).body.result;
    assert.match(await ev('%rax'), /^0x0*2a /);
    assert.match(await ev('eax'), /^0x0*2a /);
    assert.match(await ev('al + 1'), /^0x0*2b /);
    assert.match(await ev('*(u32*)0x400'), /^0x0*2a /);
    assert.match(await ev('[0x400] * 2'), /^0x0*54 /);
    assert.match(await ev('_start'), /^0x0*100000 /);
    assert.match(await ev('.regs'), /64-bit long mode\nrax=0x000000000000002a/);
    assert.match(await ev('.gdt'), /0x18 .*code 64-bit/);
    assert.match(await ev('.pagewalk 0x400'), /PML4.*\n.*PDPT.*\n.*PD/);
    assert.match(await ev('.exits'), /IO\s+14/);
    assert.match(await ev('.help'), /\.pagewalk ADDR/);
  });

  it('restart runs a fresh VM with the same breakpoints', async function () {
    const x = await s();
    const line = lineOf(KERNEL2, /'l'/);
    await x.launch({ program: KERNEL2 }, { [KERNEL2]: [line] });
    await x.stopped();
    assert.equal(x.stdout, 'He');
    const again = x.stopped();
    await x.dc.customRequest('restart', {});
    await again;
    assert.equal((await x.top()).line, line);
    assert.equal(x.stdout, 'HeHe');
  });

  it('50 restarts (launch/terminate cycles) do not grow the adapter\'s open file descriptors', async function () {
    this.timeout(180000);
    const x = await s();
    await x.launch({ program: KERNEL2, stopOnEntry: true });
    await x.stopped();
    const pid = (x.dc as unknown as { _adapterProcess: { pid: number } })._adapterProcess.pid;
    const fds = (): number => fs.readdirSync(`/proc/${pid}/fd`).length;
    const cycle = async (): Promise<void> => {
      const stopped = x.stopped();
      await x.dc.customRequest('restart', {});
      await stopped;
    };
    await cycle();
    const before = fds();
    for (let i = 0; i < 50; i++) await cycle();
    assert.ok(fds() <= before + 2, `fds grew from ${before} to ${fds()}`);
  });

  it('bad requests get error responses and the session goes on', async function () {
    const x = await s();
    await x.launch({ program: KERNEL2, stopOnEntry: true });
    await x.stopped();
    await assert.rejects(x.dc.customRequest('readMemory', { memoryReference: '0x80000000', count: 16 }), /0x80000000 is not mapped/);
    await assert.rejects(x.dc.customRequest('writeMemory', { memoryReference: '0x80000000', data: 'AAAA' }), /not mapped/);
    await assert.rejects(x.dc.customRequest('readMemory', { memoryReference: 'banana', count: 4 }), /not a memory reference/);
    await assert.rejects(x.dc.variablesRequest({ variablesReference: 987654 }), /unknown variables reference 987654/);
    await assert.rejects(x.dc.evaluateRequest({ expression: '1 + * )', context: 'repl' }), /column/);
    await assert.rejects(x.dc.evaluateRequest({ expression: 'no_such_symbol + 1', context: 'watch' }), /unknown register or symbol 'no_such_symbol'/);
    await assert.rejects(x.dc.evaluateRequest({ expression: '.frobnicate', context: 'repl' }), /unknown command/);
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.equal(x.stdout, 'Hello\n');
  });

  it('a triple fault stops with an exception the user can inspect; continuing ends the session with exit code 3', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dap-fault-'));
    const src = path.join(dir, 'fault.S');
    fs.writeFileSync(src, '.code64\n.section .start, "ax"\n.globl _start\n_start:\n    movabs $0x100000000000, %rbx\n    movq $1, (%rbx)\n    hlt\n');
    const x = await s();
    await x.launch({ program: src });
    const ev = await x.stopped();
    assert.equal(ev.body.reason, 'exception');
    assert.match(ev.body.description!, /Triple fault/);
    assert.equal((await x.registers()).rbx, '0x0000100000000000');
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.equal(x.exitCode, 3);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

// Nothing here boots a guest: no accelerator is needed (a build error fails before one is chosen,
// so even `accel: "kvm"` on a machine without /dev/kvm reports the build error).
describe('debug adapter (DAP): errors before any guest runs', function () {
  this.timeout(60000);
  const open: Session[] = [];
  const s = async (): Promise<Session> => {
    const x = await new Session(undefined).start();
    open.push(x);
    return x;
  };
  afterEach(async function () {
    for (const x of open.splice(0)) await x.end();
  });

  it('a build error fails the launch with file:line in the Debug Console', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dap-bad-'));
    const src = path.join(dir, 'bad.S');
    fs.writeFileSync(src, '.code32\n_start:\n  movl $1, %eax\n  bogus %eax\n');
    const x = await s();
    await assert.rejects(x.dc.launchRequest(x.args({ program: src, accel: 'kvm' })), /Build failed: .*bad\.S:4/);
    assert.match(x.output, /bad\.S:4: error: no such instruction/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown accel attribute fails the launch naming the choices', async function () {
    const x = await s();
    await assert.rejects(x.dc.launchRequest(x.args({ program: KERNEL2, accel: 'hvf' })), /auto, kvm, tcg/);
  });
});
