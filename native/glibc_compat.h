// Force-included into every native source (CMakeLists.txt, binding.gyp): keeps the binaries' glibc floor at 2.28,
// the torch wheel's own, when they are built on a newer glibc (Debian 12 has 2.36). Two things raise it:
//  - dlopen/dlsym/dlerror/dlclose moved from libdl into libc in glibc 2.34 and got a GLIBC_2.34 version; the
//    GLIBC_2.2.5 versions are still there (libc keeps them for old binaries; before 2.34 libdl.so.2 has them),
//    so bind to those.
//  - libstdc++'s headers (GCC >= 11) read glibc 2.32's __libc_single_threaded to skip atomic reference counts in
//    single-threaded processes. Point them at our own flag, always 0 ("not single-threaded"): atomics always,
//    which is what a Node process with worker and LibTorch threads needs anyway. Defined in glibc_compat.c.
#ifndef NODE_PEFT_GLIBC_COMPAT_H
#define NODE_PEFT_GLIBC_COMPAT_H
#if defined(__linux__) && defined(__x86_64__) && !defined(NODE_PEFT_NO_GLIBC_COMPAT)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
#define __libc_single_threaded node_peft_libc_single_threaded
#endif
#endif
