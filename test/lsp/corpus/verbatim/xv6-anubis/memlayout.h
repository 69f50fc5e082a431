#ifndef XV6_MEMLAYOUT_H
#define XV6_MEMLAYOUT_H

// Memory layout

#define EXTMEM 0x100000     // Start of extended memory
#define PHYSTOP 0xE000000   // Top physical memory
#define DEVSPACE 0xFE000000 // Other devices are at high addresses

// Key addresses for address space layout (see kmap in vm.c for layout)
#define KERNBASE 0x80000000          // First kernel virtual address
#define KERNLINK (KERNBASE + EXTMEM) // Address where kernel is linked

#ifndef __ASSEMBLER__

static inline unsigned int v2p(void* a) {
  return ((unsigned int) (a)) - KERNBASE;
}
static inline void* p2v(unsigned int a) {
  return (void*) ((a) + KERNBASE);
}

#endif

#define V2P(a) (((unsigned int) (a)) - KERNBASE)
#define P2V(a) (((void*) (a)) + KERNBASE)

#define V2P_WO(x) ((x) -KERNBASE)  // same as V2P, but without casts
#define P2V_WO(x) ((x) + KERNBASE) // same as P2V, but without casts

#endif
