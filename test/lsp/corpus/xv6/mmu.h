// x86 memory management unit definitions (a small part, in the style of xv6's mmu.h).

// Control Register flags
#define CR0_PE          0x00000001      // Protection Enable
#define CR0_WP          0x00010000      // Write Protect
#define CR0_PG          0x80000000      // Paging

#define CR4_PSE         0x00000010      // Page size extension

// various segment selectors.
#define SEG_KCODE 1  // kernel code
#define SEG_KDATA 2  // kernel data+stack

#ifndef __ASSEMBLER__
typedef unsigned int uint;
struct segdesc {
  uint lim_15_0 : 16;
  uint base_15_0 : 16;
};
#endif
