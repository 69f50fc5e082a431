// Definitions for the x86-64 MMU (a part, in the style of xv6-64's mmu.h).
#define CR0_MP          0x00000002      // Monitor coProcessor
#define CR0_WP          0x00010000      // Write Protect
#define CR0_PG          0x80000000      // Paging
#define CR4_PAE         0x00000020      // Physical address extensions

#define MSR_EFER        0xC0000080      // extended feature enable register

#define SEG_UCODE 5
#define DPL_USER  0x3
#define USER_CS   ((SEG_UCODE<<3)|DPL_USER)

#define PTE_P           0x001   // Present
#define PTE_W           0x002   // Writeable
#define PTE_PS          0x080   // Page Size

#ifndef __ASSEMBLER__
typedef unsigned long addr_t;
#endif
