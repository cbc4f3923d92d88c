/* libev and libmnl, loaded when first needed (lazy.c): their functions the
 * library calls are defined there, hidden, and load their library on first
 * call. */
#ifndef SOFTERR_CORE_LAZY_H
#define SOFTERR_CORE_LAZY_H

#include <stdbool.h>

/* Loads libev, or libmnl, unless loaded already; returns whether it is.
 * Called before the caller takes any lock of its own (a library's
 * constructor may connect() while the dynamic linker's lock is held). */
bool se_lazy_load_ev(void);
bool se_lazy_load_mnl(void);

#endif
