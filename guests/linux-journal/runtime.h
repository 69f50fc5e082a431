/* runtime.h - Linux Journal "Linux KVM as a Learning Tool", Listing 11. */
#ifndef __RUNTIME_H__
#define __RUNTIME_H__

/* The launcher prints every byte written to this port. */
#define IO_PORT_PSEUDO_SERIAL  0xf1

#endif /* __RUNTIME_H__ */
