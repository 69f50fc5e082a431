// Creates the vCPU of the chosen accelerator in the worker. Each accelerator is loaded only when
// chosen (require inside the switch), so a host without Unicorn never loads it, and one without
// /dev/kvm never touches the KVM code.
import type { AcceleratorName, Vcpu, VcpuEnvironment } from './accelerator';
import type { KvmVcpuInit } from './kvm/kvm-vcpu';
import type { TcgVcpuInit } from './tcg/tcg-vcpu';

export function createVcpu(accelerator: AcceleratorName, init: unknown, env: VcpuEnvironment): Vcpu {
  switch (accelerator) {
    case 'kvm': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { KvmVcpu } = require('./kvm/kvm-vcpu') as typeof import('./kvm/kvm-vcpu');
      return new KvmVcpu(init as KvmVcpuInit, env);
    }
    case 'tcg': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { TcgVcpu } = require('./tcg/tcg-vcpu') as typeof import('./tcg/tcg-vcpu');
      return new TcgVcpu(init as TcgVcpuInit, env);
    }
  }
}
