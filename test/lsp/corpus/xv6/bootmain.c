// Boot loader C part (in the style of xv6's bootmain.c).
typedef unsigned char uchar;

static void
waitdisk(void)
{
}

void
bootmain(void)
{
  waitdisk();
  for (;;)
    ;
}
