// SPDX-License-Identifier: GPL-2.0

//! CPU hotplug: a dynamic multi-instance state (`cpuhp_setup_state_multi()` at
//! `CPUHP_AP_ONLINE_DYN`) and the nodes objects register with it.
//!
//! The offline callback runs while the CPU is still online; callbacks cannot fail. The CPU hotplug
//! lock is held by the hotplug core around the callbacks, so users take it before their own locks
//! everywhere else too. One state per module (`Hotplug::new` refuses a second).
//!
//! C header: [`include/linux/cpuhotplug.h`](srctree/include/linux/cpuhotplug.h).

use crate::ffi;
use core::marker::PhantomData;
use kernel::{
    bindings,
    ffi::{
        c_int,
        c_uint, //
    },
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Release, //
    },
    types::Opaque, //
};

/// What a hotplug state tells the objects registered with it.
pub(crate) trait Callbacks: 'static {
    /// `cpu` came online (it is in the online mask already) or is going offline (it still is), for
    /// the object registered with `node`. Runs under the CPU hotplug lock; cannot fail.
    fn cpu_event(node: NodeId, cpu: u32, online: bool);
}

/// The state number, while a [`Hotplug`] exists (-1 otherwise).
static STATE: Atomic<c_int> = Atomic::new(-1);

/// Nodes on the state: a [`Hotplug`] dropped with nodes left keeps its state (and warns) rather
/// than free a state number the nodes still name.
static NODES: Atomic<u32> = Atomic::new(0);

/// `Node::state` while an `add` or `remove` is in progress.
const BUSY: c_int = -2;

/// The module's hotplug state, calling `C`; removed when dropped, after every node left it.
///
/// # Invariants
///
/// `id` is a state number returned by `cpuhp_setup_state_multi()` with `C`'s callbacks, not yet
/// removed, and stored in [`STATE`].
pub(crate) struct Hotplug<C: Callbacks> {
    id: c_int,
    _c: PhantomData<C>,
}

impl<C: Callbacks> Hotplug<C> {
    /// Sets up the state (module init; there is one per module).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: The callbacks are module code, valid until the state is removed in `Drop`.
        let id = unsafe { ffi::rpadata_shim_hotplug_setup(cpu_online::<C>, cpu_offline::<C>) };
        if id < 0 {
            return Err(Error::from_errno(id));
        }
        if STATE.cmpxchg(-1, id, Full).is_err() {
            // SAFETY: Set up just above, with no node.
            unsafe { bindings::__cpuhp_remove_state(id, false) };
            return Err(EBUSY);
        }
        // INVARIANT: A dynamic state was allocated with `C`'s callbacks and published.
        Ok(Self {
            id,
            _c: PhantomData,
        })
    }
}

impl<C: Callbacks> Drop for Hotplug<C> {
    fn drop(&mut self) {
        STATE.store(-1, Release);
        if kernel::warn_on!(NODES.load(Acquire) != 0) {
            // A node still names the state: leak it rather than free a number it uses.
            return;
        }
        // SAFETY: The state exists (type invariant) and no node is on it (`NODES`).
        unsafe { bindings::__cpuhp_remove_state(self.id, false) };
    }
}

/// Identifies a registered node in a callback; only compared, never dereferenced.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeId(*mut bindings::hlist_node);

/// A CPU came online.
///
/// # Safety
///
/// Called by the hotplug core for a node on the state set up with these callbacks.
unsafe extern "C" fn cpu_online<C: Callbacks>(
    cpu: c_uint,
    node: *mut bindings::hlist_node,
) -> c_int {
    C::cpu_event(NodeId(node), cpu, true);
    0
}

/// A CPU is going offline. Never fails.
///
/// # Safety
///
/// As for [`cpu_online`].
unsafe extern "C" fn cpu_offline<C: Callbacks>(
    cpu: c_uint,
    node: *mut bindings::hlist_node,
) -> c_int {
    C::cpu_event(NodeId(node), cpu, false);
    0
}

/// An object's node on the module's hotplug state.
///
/// # Invariants
///
/// While `state` is a state number (not -1 or `BUSY`), `node` is on that state's instance list,
/// counted in `NODES`, and does not move; it is removed before it is dropped. `BUSY` claims the
/// node for one `add` or `remove` at a time.
#[pin_data(PinnedDrop)]
pub(crate) struct Node {
    #[pin]
    node: Opaque<bindings::hlist_node>,
    state: Atomic<c_int>,
}

// SAFETY: The node is only handed to the hotplug core, which any thread may call.
unsafe impl Send for Node {}

// SAFETY: As for `Send`; `state` is atomic and claims the node (`BUSY`) for each list operation.
unsafe impl Sync for Node {}

impl Node {
    /// A node not on any list.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            node <- Opaque::ffi_init(|_| {}),
            state: Atomic::new(-1),
        })
    }

    /// Puts the node on the module's state, without calling the callbacks for it. Sleeps; takes
    /// the CPU hotplug lock, so the caller must not hold it. `ENODEV` without a state, `EBUSY` if
    /// the node is on it already.
    pub(crate) fn add(self: Pin<&Self>) -> Result {
        let state = STATE.load(Acquire);
        if state < 0 {
            return Err(ENODEV);
        }
        self.state.cmpxchg(-1, BUSY, Full).map_err(|_| EBUSY)?;
        NODES.fetch_add(1, Full);
        // SAFETY: `self` is pinned, so the node stays put until `PinnedDrop` has taken it off the
        // list; we claimed it (`BUSY`); the state stays while a node is counted in `NODES`.
        let r = unsafe { bindings::__cpuhp_state_add_instance(state, self.node.get(), false) };
        if let Err(e) = kernel::error::to_result(r) {
            NODES.fetch_sub(1, Full);
            self.state.store(-1, Release);
            return Err(e);
        }
        // INVARIANT: On the list of `state`, counted, from now on.
        self.state.store(state, Release);
        Ok(())
    }

    /// Takes the node off its list; returns after any callback in progress for it. Idempotent.
    /// Sleeps; takes the CPU hotplug lock.
    pub(crate) fn remove(&self) {
        let state = self.state.load(Acquire);
        if state < 0 || self.state.cmpxchg(state, BUSY, Full).is_err() {
            return;
        }
        // SAFETY: The node is on `state`'s list (type invariant) and claimed by us.
        unsafe { bindings::__cpuhp_state_remove_instance(state, self.node.get(), false) };
        NODES.fetch_sub(1, Full);
        self.state.store(-1, Release);
    }

    /// What a callback for this node is given.
    pub(crate) fn id(&self) -> NodeId {
        NodeId(self.node.get())
    }
}

#[pinned_drop]
impl PinnedDrop for Node {
    fn drop(self: Pin<&mut Self>) {
        self.remove();
    }
}
