// The C entry points the 64-bit entry jumps to.
int
main(void)
{
  return 0;
}

void mpenter(void)
{
}
