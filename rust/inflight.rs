// SPDX-License-Identifier: GPL-2.0

//! In-flight accounting: who may still use a shell, and waiting for them to go.
//!
//! C padata's use-after-frees (CVE-2023-52854 on the reorder path, CVE-2025-21726 on shell free)
//! came from freeing state that a worker was still about to touch. rpadata counts every user of a
//! shell: each job from submission until its serial callback has returned. Freeing an instance
//! closes the gates of all its shells, so one count per job also keeps the instance (and its
//! workqueues) alive. Freeing closes the gate and sleeps until the count drains to zero; the count
//! is biased by one while the gate is open, so it reaches zero only after closing and the thread
//! that takes it there completes the waiter — the last access it makes (the same pattern as
//! completions on the stack). A `do_serial` call that passes jobs on is not counted: it runs with
//! softirqs disabled, and a shell's teardown waits for an RCU grace period after the count drained.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        Completion, //
    }, //
};

/// Set in [`InFlight::state`] once the gate is closed. The count below it cannot reach it: every
/// user is a job in memory (at least 64 bytes each).
const CLOSED: u32 = 1 << 31;

/// A gate with a count of users in flight.
///
/// One word holds both, so entering is a single atomic add: the hot path of every submission. The
/// gate has a cache line of its own, apart from the other fields of the structure that holds it.
///
/// # Invariants
///
/// The low 31 bits of `state` are the number of users, plus one while [`CLOSED`] is clear. Once
/// [`CLOSED`] is set it is never cleared, and `done` is completed exactly when the count reached
/// zero.
#[repr(align(64))]
#[pin_data]
pub(crate) struct InFlight {
    state: Atomic<u32>,
    #[pin]
    done: Completion,
}

impl InFlight {
    /// An open gate with no user.
    pub(crate) fn new() -> impl PinInit<Self> {
        // INVARIANT: Open, with the bias of one and no user.
        pin_init!(Self {
            state: Atomic::new(1),
            done <- Completion::new(),
        })
    }

    /// Enters as a new user; fails once the gate is closed.
    ///
    /// Returns the number of users before this one.
    pub(crate) fn enter(&self) -> Option<u32> {
        // One atomic step reads `CLOSED` and counts us: either we see the gate closed (and leave
        // again), or the closer's update sees our count and waits for us.
        let before = self.state.fetch_add(1, Full);
        if before & CLOSED != 0 {
            self.exit();
            return None;
        }
        Some((before & !CLOSED).saturating_sub(1))
    }

    /// Leaves. After this the caller must not touch the structure that holds the gate, unless it is
    /// otherwise counted.
    pub(crate) fn exit(&self) {
        self.exit_many(1);
    }

    /// Leaves on behalf of `n` counted users at once (a batch of serialized jobs). Like
    /// [`InFlight::exit`], the last access to the structure that holds the gate.
    pub(crate) fn exit_many(&self, n: u32) {
        if n == 0 {
            return;
        }
        let before = self.state.fetch_sub(n, Full);
        // While open, the bias keeps the count above zero.
        if before & !CLOSED == n {
            // INVARIANT: The count reached zero, which can only happen once the bias is gone.
            self.done.complete_all();
        }
    }

    /// The number of users in flight (approximate while they come and go).
    pub(crate) fn users(&self) -> u32 {
        let s = self.state.load(Relaxed);
        if s & CLOSED != 0 {
            s & !CLOSED
        } else {
            s.saturating_sub(1)
        }
    }

    /// Whether the gate was closed.
    #[cfg(rpadata_kunit)]
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Relaxed) & CLOSED != 0
    }

    /// Closes the gate and sleeps until every user has left. Idempotent.
    pub(crate) fn close_and_wait(&self) {
        let mut cur = self.state.load(Relaxed);
        while cur & CLOSED == 0 {
            // Close and drop the bias in one step; if no user is left, complete `done`.
            match self.state.cmpxchg(cur, (cur | CLOSED) - 1, Full) {
                Ok(_) => {
                    if cur == 1 {
                        // INVARIANT: Closed with no user: the count is zero.
                        self.done.complete_all();
                    }
                    break;
                }
                Err(now) => cur = now,
            }
        }
        self.done.wait_for_completion();
    }
}

#[cfg(rpadata_kunit)]
#[kunit_tests(rpadata_inflight)]
mod tests {
    use super::*;
    use kernel::sync::Arc;

    #[test]
    fn enter_counts_and_close_refuses_new_users() -> Result {
        let g = Arc::pin_init(InFlight::new(), GFP_KERNEL)?;
        assert_eq!(g.enter(), Some(0));
        assert_eq!(g.enter(), Some(1));
        assert_eq!(g.users(), 2);
        g.exit();
        g.exit();
        assert_eq!(g.users(), 0);
        g.close_and_wait();
        assert!(g.is_closed());
        assert_eq!(g.enter(), None);
        assert_eq!(g.users(), 0);
        // Closing twice does not wait forever.
        g.close_and_wait();
        Ok(())
    }

    #[test]
    fn batch_exit_completes_the_waiter_once_drained() -> Result {
        let g = Arc::pin_init(InFlight::new(), GFP_KERNEL)?;
        for _ in 0..5 {
            assert!(g.enter().is_some());
        }
        g.exit_many(0);
        assert_eq!(g.users(), 5);
        g.exit_many(3);
        assert_eq!(g.users(), 2);
        g.exit_many(2);
        assert_eq!(g.users(), 0);
        assert!(!g.is_closed());
        g.close_and_wait();
        assert!(g.is_closed());
        Ok(())
    }
}
