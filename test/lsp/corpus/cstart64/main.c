/* The C side of the test kernel. */
int smp_init(void) { return 0; }

int main(void)
{
  return smp_init();
}

void exit(int code)
{
  (void)code;
  for (;;)
    ;
}
