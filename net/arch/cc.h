/* net/arch/cc.h: lwIP's compiler and platform port for Linux userspace.
 *
 * lwIP asserts and platform diagnostics go through dshield's logger; an
 * assertion failure in netd is a bug, so it aborts netd (init restarts it)
 * instead of carrying on with a corrupt stack.
 */
#ifndef DSHIELD_LWIP_ARCH_CC_H
#define DSHIELD_LWIP_ARCH_CC_H

#include <stdlib.h>
#include <sys/time.h>

#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_NO_CTYPE_H      0
#define BYTE_ORDER           LITTLE_ENDIAN
#define LWIP_ERR_T           int

void dshield_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dshield_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));

#define LWIP_PLATFORM_DIAG(x)            do { dshield_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x)          dshield_lwip_assert((x), __FILE__, __LINE__)

#endif
