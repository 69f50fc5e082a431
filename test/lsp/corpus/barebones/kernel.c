/* The C side of the Bare Bones entry. */
struct gdt_ptr { unsigned short limit; unsigned int base; } __attribute__((packed));
struct gdt_ptr gdt_pointer;

static int row;

void isr_handler(void)
{
  row++;
}

void kernel_main(unsigned int info)
{
  (void)info;
  for (;;) { }
}
