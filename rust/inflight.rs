// SPDX-License-Identifier: GPL-2.0

//! In-flight accounting: who may still use an instance or a shell, and waiting for them to go.
//!
//! C padata's use-after-frees (CVE-2023-52854 on the reorder path, CVE-2025-21726 on shell free)
//! came from freeing state that a worker was still about to touch. rpadata counts every user of an
//! instance and of a shell: each job from submission until its serial callback has returned, and
//! each `do_serial` call while it pushes jobs on. Freeing closes the gate and sleeps until the
//! count drains to zero; the count is biased by one while the gate is open, so it reaches zero only
//! after closing and the thread that takes it there completes the waiter — the last access it makes
//! (the same pattern as completions on the stack).

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Full, Relaxed},
        Completion,
    },
};

/// A gate with a count of users in flight.
///
/// # Invariants
///
/// `count` is the number of users plus one while `closed` is false. Once `closed` is true it never
/// becomes false again, and `done` is completed exactly when `count` reached zero.
#[pin_data]
pub(crate) struct InFlight {
    count: Atomic<u32>,
    closed: Atomic<bool>,
    #[pin]
    done: Completion,
}

impl InFlight {
    /// An open gate with no user.
    pub(crate) fn new() -> impl PinInit<Self> {
        // INVARIANT: Open, with the bias of one and no user.
        pin_init!(Self {
            count: Atomic::new(1),
            closed: Atomic::new(false),
            done <- Completion::new(),
        })
    }

    /// Enters as a new user; fails once the gate is closed.
    ///
    /// Returns the number of users before this one.
    pub(crate) fn enter(&self) -> Option<u32> {
        // `Full` orders the increment before the read of `closed`, pairing with `close_and_wait`:
        // either we see the gate closed, or the closer's decrement sees our increment.
        let before = self.count.fetch_add(1, Full);
        if self.closed.load(Relaxed) {
            self.exit();
            return None;
        }
        Some(before.saturating_sub(1))
    }

    /// Enters on behalf of a user that is already counted, whether or not the gate is closed: the
    /// count cannot reach zero meanwhile. The returned guard exits.
    pub(crate) fn hold(&self) -> Hold<'_> {
        self.count.fetch_add(1, Full);
        Hold(self)
    }

    /// Leaves. After this the caller must not touch the structure that holds the gate, unless it is
    /// otherwise counted.
    pub(crate) fn exit(&self) {
        if self.count.fetch_sub(1, Full) == 1 {
            // INVARIANT: The count reached zero, which can only happen once the bias is gone.
            self.done.complete_all();
        }
    }

    /// The number of users in flight (approximate while they come and go).
    pub(crate) fn users(&self) -> u32 {
        let c = self.count.load(Relaxed);
        if self.closed.load(Relaxed) {
            c
        } else {
            c.saturating_sub(1)
        }
    }

    /// Whether the gate was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Closes the gate and sleeps until every user has left. Idempotent.
    pub(crate) fn close_and_wait(&self) {
        if !self.closed.xchg(true, Full) {
            // Drop the bias; if no user is left, this completes `done`.
            self.exit();
        }
        self.done.wait_for_completion();
    }
}

/// A user counted by [`InFlight::hold`]; leaves when dropped.
pub(crate) struct Hold<'a>(&'a InFlight);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.exit();
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
    fn hold_keeps_count_after_close() -> Result {
        let g = Arc::pin_init(InFlight::new(), GFP_KERNEL)?;
        assert_eq!(g.enter(), Some(0));
        {
            let _h = g.hold();
            assert_eq!(g.users(), 2);
        }
        assert_eq!(g.users(), 1);
        g.exit();
        g.close_and_wait();
        Ok(())
    }
}
