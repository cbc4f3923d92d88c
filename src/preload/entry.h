/* The watcher's record of a pending non-blocking connect, shared by the
 * answers for a pending descriptor (pending.c) and the transparent run
 * behind a stand-in (standin.c). Everything here with the loop's lock held
 * (core/loop.h).
 *
 * Words: num is the program's number (what the program calls its socket);
 * orig the program's socket on the library's private number while a
 * stand-in holds num; the engine's fd is always a socket. */
#ifndef SOFTERR_PRELOAD_ENTRY_H
#define SOFTERR_PRELOAD_ENTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/engine.h"

struct se_pending {
	int num;
	/* PENDING: the kernel's attempt on num, a visible run of the engine
	 * (run); RUNNING: a transparent run behind the stand-in; VISIBLE:
	 * ended, the program is to read visible_err. */
	enum { PENDING, RUNNING, VISIBLE } state;
	int visible_err;		/* VISIBLE: the errno the program gets */
	bool delivered;			/* ... and SO_ERROR handed it out */
	/* PENDING: num is registered in the loop's own epoll instance
	 * (se_loop_watch_fd()), with gen to tell this entry's events from
	 * those of an earlier one on the same number. */
	uint32_t gen;

	/* PENDING, RUNNING: the engine's run (NULL once decided) */
	struct se_run *run;

	/* RUNNING */
	/* The thread has not looked at the run since the program began it:
	 * nothing of it is in libev, and its sockets may be closed by the
	 * program's thread (se_entry_forget()). */
	bool fresh;
	/* orig is registered to nudge the thread at its first event
	 * (SE_LOOP_NUDGE), until it goes back to the program's number. */
	bool nudging;
	int orig;			/* the program's socket, privately */
	int wake;			/* the stand-in pipe's write end */
	/* The program took its socket back with shutdown(): e is out of the
	 * table, the run held (se_run_hold()); on the placing list, the
	 * thread ends the run and closes the private number (standin.c). */
	bool shut;
	/* The run is over (run NULL): orig, the winner or the failed
	 * socket, waits on the placing list for the loop to poll once more
	 * before it goes on the number (standin.c). */
	bool placing;
	bool place_connected;
	unsigned place_iteration;	/* ev_iteration() when it was decided */
	struct se_pending *next_place;

	/* The program closed or replaced the number: e is no longer in the
	 * table, waits on the gone list for the thread, and nothing touches
	 * the number for it any more. */
	bool gone;
	struct se_pending *next_gone;
	/* The file e answers for on the number (the stand-in while RUNNING,
	 * the program's socket otherwise), to know it is still there: the
	 * program may close the number behind the wrappers' back (libuv's
	 * raw close system call, close_range()) and reuse it. */
	dev_t st_dev;
	ino_t st_ino;
};

/* pending.c */

/* num's entry, or NULL. */
struct se_pending *se_entry_get(int num);
/* num's entry if the file it answers for is still on the number. One that
 * is not (the program closed the number in a way the wrappers do not see,
 * and may have put another file there) is forgotten, *woken set: the call
 * goes to the kernel, as without softerr. */
struct se_pending *se_entry_find(int num, bool *woken);
/* Sets num's entry (NULL: none) and its SE_KNOWN_ENTRY bit. */
void se_entry_set(int num, struct se_pending *e);
/* Is the file e answers for still on its number? errno is kept. */
bool se_entry_still_there(const struct se_pending *e);
/* Notes which file is on e's number now. Returns -1 if none is. */
int se_entry_know_file(struct se_pending *e);
/* Forgets e entirely: out of the table, freed. */
void se_entry_drop(struct se_pending *e);
/* Is e still the program's attempt? One whose file left the number behind
 * the wrappers' back is let go of, as by close(). */
bool se_entry_current(struct se_pending *e);
/* The number num no longer holds what the watcher knew there (see
 * pending.c). Returns whether the thread is to be woken. */
bool se_entry_forget(int num, bool regs_too);

/* standin.c */

/* Takes over num's attempt behind a stand-in (the thread running). Returns
 * false when it cannot (no memory, no descriptors): nothing changed. Else
 * *wake says whether the thread must be woken now to take the run (see
 * se_standin_resume()). */
bool se_standin_take_over(const struct se_engine_ctx *ctx, struct se_pending *e,
			  int num, int domain, const struct sockaddr *sa,
			  socklen_t len, unsigned lvl, bool *wake);
/* The thread takes the runs begun since it last looked (every wake-up):
 * their sockets and timers go into libev. */
void se_standin_resume(void);
/* The run of e is over: its descriptors go, every waiter wakes. */
void se_standin_end_run(struct se_pending *e);
/* e's decided run leaves the placing list. */
void se_standin_unplace(struct se_pending *e);
/* The loop was made (again): the placer is set up for it. */
void se_standin_started(void);
/* Runs wait on the placing list: the next poll does not wait (the thread). */
void se_standin_arm(void);
/* Do runs wait on the placing list? */
bool se_standin_placing(void);
/* A stand-in lost its last reader (core/loop.h's fd_event for data as
 * standin.c registered it: the top bit clear). */
void se_standin_reader_gone(uint64_t data);
/* The program's own socket back on e's number (where the stand-in still
 * is), keeping the registrations: the loop stands aside. */
void se_standin_give_up(struct se_pending *e);
/* The program puts a file of its own on num: a run holding num ends. */
void se_standin_hand_back_holder(int num);
/* In a child after fork(): e's number gets the program's own socket, and
 * this process's copies of the run's descriptors go. */
void se_standin_child(struct se_pending *e);
/* In a child: the runs given back by shutdown() are forgotten, the placing
 * list emptied. */
void se_standin_fork_child(void);
/* In a child: this process's copies of e's run's descriptors go (e left
 * the table). */
void se_standin_forget_run(struct se_pending *e);

#endif
