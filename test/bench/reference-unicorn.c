/* The C reference for the software-CPU benchmarks of `npm run bench`: the same Unicorn 2 library our
 * monitor loads, the same real-mode guest at the reset vector, with the cheapest possible port-I/O
 * path: a C UC_HOOK_INSN OUT hook that counts the exit and keeps the value (as our POST-code device
 * on port 0x80 does). This is the floor for our per-exit cost on the software CPU.
 *
 * Usage: reference-unicorn IMAGE [LOAD_ADDR]   (default 0xF0000: the image ends at 1 MiB)
 * Runs from F000:FFF0 until HLT and prints
 *   exits=N port80=P user_us=U sys_us=S setup_user_us=SU ecx=C
 * where N counts every OUT exit, P those to port 0x80, U/S the CPU time (getrusage, RUSAGE_SELF) of
 * uc_emu_start alone, SU that of uc_open + mapping + register set-up.
 *
 * The engine is opened in UC_MODE_16: the CPU comes out of uc_open in real mode, and a segment
 * register write there loads base = selector << 4. (Opened in UC_MODE_64 with EFER and CR0 cleared,
 * a CS write left the CS base at 0 and the CPU decoding 64-bit code: measured with 2.0.1.)
 * The code QEMU's translator produces depends on CR0/EFER/CS, not on the mode Unicorn was opened in,
 * so the guest runs the same translated code as under our monitor.
 *
 * Build: gcc -O2 -o reference-unicorn reference-unicorn.c -lunicorn
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unicorn/unicorn.h>

#define MEM_SIZE (2u << 20)

static uint64_t exits, port80;
static uint32_t post_code;

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user) {
  (void)uc, (void)size, (void)user;
  exits++;
  if (port == 0x80) {
    port80++;
    post_code = value;
  }
}

static void check(uc_err err, const char *what) {
  if (err != UC_ERR_OK) {
    fprintf(stderr, "reference-unicorn: %s: %s\n", what, uc_strerror(err));
    exit(1);
  }
}

static void reg16(uc_engine *uc, int id, uint16_t value, const char *what) { check(uc_reg_write(uc, id, &value), what); }

static long long us(struct timeval tv) { return tv.tv_sec * 1000000LL + tv.tv_usec; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s IMAGE [LOAD_ADDR]\n", argv[0]);
    return 1;
  }
  unsigned long load = argc > 2 ? strtoul(argv[2], NULL, 0) : 0xf0000ul;
  struct rusage r0, r1, r2;
  getrusage(RUSAGE_SELF, &r0);

  uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  size_t n = fread(mem + load, 1, MEM_SIZE - load, f);
  fclose(f);
  if (n == 0) {
    fprintf(stderr, "reference-unicorn: empty image\n");
    return 1;
  }

  uc_engine *uc;
  check(uc_open(UC_ARCH_X86, UC_MODE_16, &uc), "uc_open");
  check(uc_mem_map_ptr(uc, 0, MEM_SIZE, UC_PROT_ALL, mem), "uc_mem_map_ptr");
  uc_hook hh;
  check(uc_hook_add(uc, &hh, UC_HOOK_INSN, (void *)on_out, NULL, 1, 0, UC_X86_INS_OUT), "uc_hook_add OUT");

  /* Real mode at the reset vector F000:FFF0, stack 9800:8000 (our monitor's real-mode layout). */
  const uint16_t cs = 0xf000, ip = 0xfff0;
  reg16(uc, UC_X86_REG_CS, cs, "CS");
  reg16(uc, UC_X86_REG_DS, 0, "DS");
  reg16(uc, UC_X86_REG_ES, 0, "ES");
  reg16(uc, UC_X86_REG_FS, 0, "FS");
  reg16(uc, UC_X86_REG_GS, 0, "GS");
  reg16(uc, UC_X86_REG_SS, 0x9800, "SS");
  reg16(uc, UC_X86_REG_SP, 0x8000, "SP");
  reg16(uc, UC_X86_REG_FLAGS, 2, "FLAGS");
  getrusage(RUSAGE_SELF, &r1);

  /* In UC_MODE_16, uc_emu_start sets EIP = begin - CS * 16 with CS read as a *signed* 16-bit value
   * (2.0.1): for CS = F000 that is begin + 0x10000. Pass the begin that yields IP = FFF0. The run ends
   * at HLT; the exit count printed lets the caller check the guest ran as intended. */
  uint64_t begin = (uint64_t)ip + (uint64_t)(int64_t)((int16_t)cs * 16);
  check(uc_emu_start(uc, begin, 0, 0, 0), "uc_emu_start");
  getrusage(RUSAGE_SELF, &r2);

  uint32_t ecx = 0xffffffff; /* 16-bit mode: read ECX, not RCX */
  uc_reg_read(uc, UC_X86_REG_ECX, &ecx);
  printf("exits=%llu port80=%llu user_us=%lld sys_us=%lld setup_user_us=%lld ecx=%llu post=%u\n",
         (unsigned long long)exits, (unsigned long long)port80, us(r2.ru_utime) - us(r1.ru_utime),
         us(r2.ru_stime) - us(r1.ru_stime), us(r1.ru_utime) - us(r0.ru_utime), (unsigned long long)ecx, post_code);
  uc_close(uc);
  return 0;
}
