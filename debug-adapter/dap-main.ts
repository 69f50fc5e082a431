// Entry point of the debug adapter process: DAP on stdin/stdout (VS Code starts it as a
// DebugAdapterExecutable; `kvm-guest dap` serves it to any other DAP client).
import fs from 'node:fs';
import { logger, Logger } from '@vscode/debugadapter';
import { KvmGuestSession } from './session';
import type { AcceleratorChoice } from './vmm/accelerator';
import type { Arch } from './toolchain/arch';

export function serveDap(options: { accel?: AcceleratorChoice; arch?: Arch } = {}): void {
  // KVM_GUEST_DAP_LOG=file: every DAP message in both directions, for diagnosing a client. Written
  // synchronously, so nothing is lost when the client closes the connection at once.
  const logFile = process.env.KVM_GUEST_DAP_LOG;
  let traceFd: number | undefined;
  if (logFile) {
    try {
      traceFd = fs.openSync(logFile, 'w');
    } catch (e) {
      process.stderr.write(`kvm-guest dap: cannot write the trace to ${logFile}: ${(e as Error).message}\n`);
    }
  }
  const trace = traceFd === undefined ? undefined : (line: string): void => void fs.writeSync(traceFd!, `[${new Date().toISOString()}] ${line}\n`);
  const session = new KvmGuestSession(options.accel ?? envAccel(), trace);
  session.defaultArch = options.arch;
  session.setRunAsServer(false);
  session.start(process.stdin, process.stdout);
  // The library's logger queues every message until setup() runs after start(): set it up to log
  // nothing, or the queue keeps every DAP message for the life of the process.
  logger.setup(Logger.LogLevel.Stop, false);
  // A message that is not JSON (or not an object) is skipped; say so.
  session.on('error', (ev: { body?: unknown }) => process.stderr.write(`kvm-guest dap: ${String(ev.body)}; the message was skipped\n`));
  // Nothing a client sends may end the process silently: say what went wrong on stderr and go on.
  process.on('unhandledRejection', (e) => process.stderr.write(`kvm-guest dap: internal error (the session goes on): ${e instanceof Error ? e.stack : String(e)}\n`));
  process.on('uncaughtException', (e) => process.stderr.write(`kvm-guest dap: internal error (the session goes on): ${e.stack ?? String(e)}\n`));
  process.on('SIGTERM', () => session.shutdown());
  // The session object keeps stdin open; the process ends when the client closes it.
  process.stdin.on('end', () => process.exit(0));
}

/** KVM_GUEST_ACCEL=auto|kvm|tcg: the default accelerator of a DAP process started without options. */
function envAccel(): AcceleratorChoice {
  const v = process.env.KVM_GUEST_ACCEL;
  return v === 'kvm' || v === 'tcg' ? v : 'auto';
}
