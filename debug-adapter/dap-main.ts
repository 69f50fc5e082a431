// Entry point of the debug adapter process: DAP on stdin/stdout (VS Code starts it as a
// DebugAdapterExecutable; `kvm-guest dap` serves it to any other DAP client).
import { logger, Logger } from '@vscode/debugadapter';
import { KvmGuestSession } from './session';
import type { AcceleratorChoice } from './vmm/accelerator';

export function serveDap(options: { accel?: AcceleratorChoice } = {}): void {
  const session = new KvmGuestSession(options.accel ?? envAccel());
  session.setRunAsServer(false);
  session.start(process.stdin, process.stdout);
  // The logger queues every message until setup() runs after start(): call it always, or the queue
  // keeps every DAP message for the life of the process. KVM_GUEST_DAP_LOG=file: a verbose trace of
  // every DAP message, for diagnosing a client; otherwise nothing is logged.
  const logFile = process.env.KVM_GUEST_DAP_LOG;
  // The file gets every message; the Debug Console only the adapter's own errors.
  logger.setup(logFile ? Logger.LogLevel.Error : Logger.LogLevel.Stop, logFile || false, true);
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
