// SPDX-License-Identifier: GPL-2.0

//! RCU: a boxed value that readers load under RCU (or with softirqs disabled) and writers
//! replace.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).

use super::BhGuard;
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full, //
        },
        rcu, //
    }, //
};

/// Waits for every RCU read-side critical section in progress to end, including every region
/// with softirqs disabled (see [`RcuBox::read_bh`]). Sleeps.
pub(crate) fn synchronize_rcu() {
    kernel::task::might_sleep();
    // SAFETY: No preconditions; callers are in process context and may sleep.
    unsafe { bindings::synchronize_rcu() };
}

/// An owned `T` behind a pointer that readers load under RCU and writers replace.
///
/// The Rust form of `rcu_assign_pointer()`/`rcu_dereference()` + `synchronize_rcu()`: C padata
/// replaces its `parallel_data` this way; rpadata replaces the usable-CPU snapshot of an instance.
///
/// # Invariants
///
/// `ptr` always holds a pointer from `KBox::into_raw` that this value owns. A pointer removed by
/// [`RcuBox::replace`] is freed only after a grace period.
pub(crate) struct RcuBox<T> {
    ptr: Atomic<*mut T>,
}

// SAFETY: Owns a `T`; it is handed to readers on any thread (`T: Sync`) and dropped on any thread
// (`T: Send`).
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}

// SAFETY: Shared access hands out `&T` (needs `T: Sync`) and replaces `T` (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}

impl<T> RcuBox<T> {
    /// Takes ownership of `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        // INVARIANT: The pointer comes from `KBox::into_raw`.
        Self {
            ptr: Atomic::new(KBox::into_raw(value)),
        }
    }

    /// The current value, valid while the RCU read lock `_guard` is held.
    pub(crate) fn read<'a>(&'a self, _guard: &'a rcu::Guard) -> &'a T {
        let p = self.ptr.load(Acquire);
        // SAFETY: By the type invariant `p` is a live `KBox` allocation; a replaced one is freed
        // only after a grace period, and the caller is inside an RCU read-side critical section
        // for the whole lifetime of the reference.
        unsafe { &*p }
    }

    /// The current value, valid while softirqs stay disabled (`_bh`).
    ///
    /// A region with softirqs disabled is an RCU read-side critical section for
    /// `synchronize_rcu()` since the RCU flavours were consolidated (v5.0; on PREEMPT_RT
    /// `local_bh_disable()` takes the RCU read lock itself): what C padata's
    /// `rcu_read_lock_bh()` relies on. It spares the submission path a separate RCU read lock.
    pub(crate) fn read_bh<'a>(&'a self, _bh: &'a BhGuard) -> &'a T {
        let p = self.ptr.load(Acquire);
        // SAFETY: By the type invariant `p` is a live `KBox` allocation; a replaced one is freed
        // only after `synchronize_rcu()`, which waits for every region with softirqs disabled,
        // and the caller keeps them disabled for the whole lifetime of the reference.
        unsafe { &*p }
    }

    /// Replaces the value; returns after every reader of the old one is gone, and frees it.
    ///
    /// Sleeps (`synchronize_rcu()`).
    pub(crate) fn replace(&self, value: KBox<T>) {
        // INVARIANT: The new pointer comes from `KBox::into_raw`.
        let old = self.ptr.xchg(KBox::into_raw(value), Full);
        synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` (type invariant), no other writer got it (the
        // exchange is atomic) and no reader uses it after the grace period.
        drop(unsafe { KBox::from_raw(old) });
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        // SAFETY: We have exclusive access, so no reader exists; the pointer came from
        // `KBox::into_raw` (type invariant).
        drop(unsafe { KBox::from_raw(*self.ptr.get_mut()) });
    }
}
