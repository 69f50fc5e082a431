/* The tests' own look at this host's KVM, independent of the product's host probe
 * (debug-adapter/vmm/kvm/host-probe.ts): plain ioctls from <linux/kvm.h>, a fresh VM per question.
 * Tests take their expectations from this, never from what kvm-guest reports about the host.
 *
 * Usage: kvm-reference-probe DEVICE. Prints one line per question:
 *   paged32 yes|no <what happened>    a guest in 32-bit protected mode with CR0.PG and CR4.PSE
 *                                     (4 MiB identity pages, no long mode) runs to its HLT
 *   hwbp yes|no <what happened>       a DR0 execute breakpoint (KVM_GUESTDBG_USE_HW_BP) on the
 *                                     second instruction of NOP; NOP; HLT exits there
 * Exit status 2 when the device cannot be used. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)
#define CODE 0x10000u
#define PAGE_DIR 0x1000u

static int kvm;

struct vm { int vm, vcpu; struct kvm_run *run; uint8_t *mem; };

static int make_vm(struct vm *v) {
  v->vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (v->vm < 0) return -1;
  ioctl(v->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
  v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (v->mem == MAP_FAILED) return -1;
  struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)v->mem };
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return -1;
  v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
  if (v->vcpu < 0) return -1;
  int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
  if (v->run == MAP_FAILED) return -1;
  /* 32-bit flat protected mode (SDM vol. 3, 9.9.1): CS 32-bit code, data segments 4 GiB. */
  struct kvm_sregs s;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0) return -1;
  struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .db = 1, .s = 1, .g = 1 };
  struct kvm_segment data = code;
  data.selector = 16;
  data.type = 3;
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.cr0 = 0x33; /* PE MP ET NE */
  if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0) return -1;
  struct kvm_regs r = { .rip = CODE, .rsp = 0x8000, .rflags = 2 };
  if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0) return -1;
  return 0;
}

static void free_vm(struct vm *v) {
  close(v->vcpu);
  close(v->vm);
  munmap(v->mem, MEM_SIZE);
}

/* Runs until something other than an interrupted KVM_RUN; returns the exit reason or -errno. */
static int run(struct vm *v) {
  for (;;) {
    if (ioctl(v->vcpu, KVM_RUN, 0) == 0) return (int)v->run->exit_reason;
    if (errno != EINTR && errno != EAGAIN) return -errno;
  }
}

static const char *exit_name(int reason) {
  static char buf[64];
  switch (reason) {
  case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
  case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
  case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG";
  case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
  case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
  }
  snprintf(buf, sizeof buf, reason < 0 ? "KVM_RUN failed (errno %d)" : "exit reason %d", reason < 0 ? -reason : reason);
  return buf;
}

static void paged32(void) {
  struct vm v;
  if (make_vm(&v) < 0) { printf("paged32 no setting up the VM failed: %s\n", strerror(errno)); return; }
  /* Page directory of 4 MiB pages (PDE.PS, SDM vol. 3, 4.3) identity-mapping 4 GiB; CR4.PSE; CR0.PG. */
  uint32_t *pd = (uint32_t *)(v.mem + PAGE_DIR);
  for (uint32_t i = 0; i < 1024; i++) pd[i] = (i << 22) | 0x83; /* P RW PS */
  v.mem[CODE] = 0xf4; /* hlt */
  struct kvm_sregs s;
  ioctl(v.vcpu, KVM_GET_SREGS, &s);
  s.cr3 = PAGE_DIR;
  s.cr4 = 0x10; /* PSE */
  s.cr0 = 0x80000033; /* PG PE MP ET NE */
  s.efer = 0;
  if (ioctl(v.vcpu, KVM_SET_SREGS, &s) < 0) { printf("paged32 no KVM_SET_SREGS refused CR0.PG: %s\n", strerror(errno)); free_vm(&v); return; }
  int r = run(&v);
  printf("paged32 %s %s\n", r == KVM_EXIT_HLT ? "yes" : "no", exit_name(r));
  free_vm(&v);
}

static void hwbp(void) {
  struct vm v;
  if (make_vm(&v) < 0) { printf("hwbp no setting up the VM failed: %s\n", strerror(errno)); return; }
  v.mem[CODE] = 0x90;
  v.mem[CODE + 1] = 0x90;
  v.mem[CODE + 2] = 0xf4;
  /* DR0 = the second NOP; DR7: L0 enabled, R/W0 = 00 (execute), LEN0 = 00 (SDM vol. 3, 17.2.4). */
  struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };
  dbg.arch.debugreg[0] = CODE + 1;
  dbg.arch.debugreg[7] = 0x401;
  if (ioctl(v.vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0) { printf("hwbp no KVM_SET_GUEST_DEBUG failed: %s\n", strerror(errno)); free_vm(&v); return; }
  int r = run(&v);
  int hit = r == KVM_EXIT_DEBUG && v.run->debug.arch.pc == CODE + 1;
  printf("hwbp %s %s", hit ? "yes" : "no", exit_name(r));
  if (r == KVM_EXIT_DEBUG) printf(" at 0x%llx", (unsigned long long)v.run->debug.arch.pc);
  printf("\n");
  free_vm(&v);
}

/* The in-kernel irqchip with eventfds: the capabilities, then a VM that takes KVM_CREATE_IRQCHIP. */
static void irqchip(void) {
  static const struct { int cap; const char *name; } caps[] = {
    { KVM_CAP_IRQCHIP, "IRQCHIP" }, { KVM_CAP_PIT2, "PIT2" }, { KVM_CAP_IRQFD, "IRQFD" },
    { KVM_CAP_IRQFD_RESAMPLE, "IRQFD_RESAMPLE" }, { KVM_CAP_IOEVENTFD, "IOEVENTFD" },
  };
  for (unsigned i = 0; i < sizeof caps / sizeof caps[0]; i++)
    if (ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) { printf("irqchip no KVM_CAP_%s is not offered\n", caps[i].name); return; }
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) { printf("irqchip no KVM_CREATE_VM failed: %s\n", strerror(errno)); return; }
  int r = ioctl(vm, KVM_CREATE_IRQCHIP, 0);
  printf(r == 0 ? "irqchip yes IRQCHIP, PIT2, IRQFD with resample and IOEVENTFD offered; KVM_CREATE_IRQCHIP succeeded\n" : "irqchip no KVM_CREATE_IRQCHIP failed: %s\n", strerror(errno));
  close(vm);
}

int main(int argc, char **argv) {
  const char *device = argc > 1 ? argv[1] : "/dev/kvm";
  kvm = open(device, O_RDWR | O_CLOEXEC);
  if (kvm < 0) { fprintf(stderr, "%s: %s\n", device, strerror(errno)); return 2; }
  if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) { fprintf(stderr, "KVM API version mismatch\n"); return 2; }
  paged32();
  hwbp();
  irqchip();
  return 0;
}
