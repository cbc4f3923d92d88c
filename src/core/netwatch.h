/* The network as rtnetlink shows it (libmnl): a fingerprint of the routes,
 * addresses and links of both families, taken when the address history is
 * about to be used (at most once a second), so that the history is
 * forgotten when the network changed (RFC 5461 2.2: it is "dynamically
 * reconstructed").
 *
 * Why not a subscribed socket kept open? It would be a descriptor in every
 * program that resolves a name: one the program's fd accounting sees, and
 * one that can take the lowest number a daemon that closed its standard
 * descriptors expects open() to return. The history matters only when it
 * is consulted, and a fresh look then tells what a listener would have. */
#ifndef SOFTERR_CORE_NETWATCH_H
#define SOFTERR_CORE_NETWATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The fingerprint now: a hash of the main table's routes (destination,
 * gateway, interface, metric), the addresses (not temporary ones) and
 * which links are up, in any order. Returns 0, or -1 when rtnetlink cannot
 * be asked. */
int se_netwatch_fingerprint(uint64_t *fp);

struct se_history;

/* A process's view of the network, for the history. */
struct se_netstate {
	pthread_mutex_t lock;
	bool known;			/* a fingerprint was taken */
	uint64_t checked_ms;		/* when (se_boot_ms) */
};

#define SE_NETSTATE_INIT { PTHREAD_MUTEX_INITIALIZER, false, 0 }
#define SE_NETWATCH_EVERY_MS 1000

/* Takes the network's fingerprint, unless it was taken less than
 * SE_NETWATCH_EVERY_MS ago, and hands it to h, which forgets (in the
 * shared file too) when it differs from the one its entries were seen
 * under. */
void se_network_check(struct se_netstate *ns, struct se_history *h);

#endif
