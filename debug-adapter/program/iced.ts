// iced-x86 (a WebAssembly module, ~17 ms to instantiate) loaded on first use: a `kvm-guest run` that
// never decodes an instruction, and a KVM vCPU worker, never pay for it.
import type * as Iced from 'iced-x86';

let loaded: typeof Iced | undefined;

export function iced(): typeof Iced {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('iced-x86') as typeof Iced);
}
