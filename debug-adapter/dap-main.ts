// Entry point of the debug adapter process: DAP on stdin/stdout (VS Code starts it as a
// DebugAdapterExecutable; `kvm-guest dap` serves it to any other DAP client).
import { logger, Logger } from '@vscode/debugadapter';
import { KvmGuestSession } from './session';
import type { AcceleratorChoice } from './vmm/accelerator';

export function serveDap(options: { accel?: AcceleratorChoice } = {}): void {
  // KVM_GUEST_DAP_LOG=file: a verbose trace of every DAP message, for diagnosing a client.
  if (process.env.KVM_GUEST_DAP_LOG) logger.setup(Logger.LogLevel.Verbose, process.env.KVM_GUEST_DAP_LOG);
  const session = new KvmGuestSession(options.accel ?? envAccel());
  session.setRunAsServer(false);
  session.start(process.stdin, process.stdout);
  process.on('SIGTERM', () => session.shutdown());
  // The session object keeps stdin open; the process ends when the client closes it.
  process.stdin.on('end', () => process.exit(0));
}

/** KVM_GUEST_ACCEL=auto|kvm|tcg: the default accelerator of a DAP process started without options. */
function envAccel(): AcceleratorChoice {
  const v = process.env.KVM_GUEST_ACCEL;
  return v === 'kvm' || v === 'tcg' ? v : 'auto';
}
