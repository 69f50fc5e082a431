/* The C reference monitor for `npm run bench`: the same guest, memory layout and exit handling as our
 * TypeScript monitor's hot path (port I/O served in user space, counted per port), with no extras.
 * Usage: reference-vmm IMAGE LOAD_ADDR [step]. Prints "exits=N user_us=U sys_us=S wall_us=W" for the
 * KVM_RUN loop alone (process start, VM and vCPU creation and set-up excluded: CPU time by getrusage,
 * wall time by CLOCK_MONOTONIC around the loop); with "step" every instruction is single-stepped
 * (KVM_GUESTDBG_SINGLESTEP, one debug exit each). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)

static void die(const char *what) { perror(what); exit(1); }

static long long us(struct timeval tv) { return tv.tv_sec * 1000000LL + tv.tv_usec; }

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s IMAGE LOAD_ADDR\n", argv[0]); return 1; }
  unsigned long load = strtoul(argv[2], NULL, 0);
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
  uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  size_t n = fread(mem + load, 1, MEM_SIZE - load, f);
  fclose(f);
  if (n == 0) { fprintf(stderr, "empty image\n"); return 1; }
  struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem };
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap kvm_run");

  /* 32-bit flat protected mode, as the TypeScript monitor's `protected` mode. */
  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .db = 1, .s = 1, .g = 1 };
  struct kvm_segment data = code;
  data.selector = 16;
  data.type = 3;
  sregs.cs = code;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.cr0 = 0x33; /* PE MP ET NE */
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs = { .rip = load, .rsp = 0xa0000, .rflags = 2 };
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

  int stepping = argc > 3 && strcmp(argv[3], "step") == 0;
  if (stepping) {
    struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
    if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0) die("KVM_SET_GUEST_DEBUG");
  }
  static uint32_t port_out[65536];
  uint32_t last = 0;
  unsigned long long exits = 0;
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  long long w0 = now_us();
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    exits++;
    if (run->exit_reason == KVM_EXIT_IO) {
      uint8_t *p = (uint8_t *)run + run->io.data_offset;
      port_out[run->io.port] += run->io.count;
      for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size) memcpy(&last, p, run->io.size);
      continue;
    }
    if (run->exit_reason == KVM_EXIT_DEBUG) {
      /* Single-stepping a HLT does not halt on every KVM: stop stepping just before it, as ours does. */
      uint64_t pc = run->debug.arch.pc;
      if (pc >= load && pc < load + n && mem[pc] == 0xf4) {
        struct kvm_guest_debug off = { .control = 0 };
        if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &off) < 0) die("KVM_SET_GUEST_DEBUG");
      }
      continue;
    }
    if (run->exit_reason == KVM_EXIT_HLT) break;
    fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
    return 1;
  }
  long long w1 = now_us();
  getrusage(RUSAGE_SELF, &r1);
  printf("exits=%llu user_us=%lld sys_us=%lld wall_us=%lld port80=%u\n", exits, us(r1.ru_utime) - us(r0.ru_utime), us(r1.ru_stime) - us(r0.ru_stime), w1 - w0, port_out[0x80]);
  return 0;
}
