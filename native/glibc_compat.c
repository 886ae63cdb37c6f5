// The flag libstdc++'s headers read instead of glibc 2.32's __libc_single_threaded (see glibc_compat.h).
#include "glibc_compat.h"
#if defined(__linux__) && defined(__x86_64__) && !defined(NODE_PEFT_NO_GLIBC_COMPAT)
__attribute__((visibility("hidden"))) char node_peft_libc_single_threaded = 0;
#endif
