/* softerr: TCP's reaction to ICMP soft errors, RFC 5461, for every program.
 *
 * Today the library works by interposition alone (LD_PRELOAD=libsofterr.so);
 * this header carries the version of the package. */
#ifndef SOFTERR_H
#define SOFTERR_H

#define SOFTERR_VERSION_MAJOR 0
#define SOFTERR_VERSION_MINOR 1
#define SOFTERR_VERSION_PATCH 0

#endif
