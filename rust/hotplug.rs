// SPDX-License-Identifier: GPL-2.0

//! CPU hotplug: usable masks follow the online CPUs.
//!
//! Replaces `padata_cpu_online()`/`padata_cpu_dead()` of kernel/padata.c. rpadata has one dynamic
//! multi-instance state (`rpadata:online`, at `CPUHP_AP_ONLINE_DYN`); each instance is on it from
//! allocation to free. The offline callback runs while the CPU is still online, so usable masks
//! shrink before it goes. Jobs already queued on a CPU that goes away are run by the workqueue on
//! another CPU and still serialized in order. A mask left without an online CPU makes the instance
//! invalid; the offline itself always succeeds (C padata once hit a divide error here, and later a
//! failing teardown callback). The CPU hotplug lock is held by the hotplug core around the
//! callbacks and is taken before the instance's lock everywhere else too.

use crate::{ffi::HotplugState, instance};
use kernel::{
    bindings,
    ffi::{c_int, c_uint},
    prelude::*,
    sync::atomic::{Acquire, Atomic, Release},
};

/// The state number, once set up (-1 before).
static STATE: Atomic<c_int> = Atomic::new(-1);

/// The module's hotplug state; dropped on module exit, after every instance is gone.
pub(crate) struct Hotplug {
    _state: HotplugState,
}

impl Hotplug {
    /// Sets up the state.
    pub(crate) fn new() -> Result<Self> {
        let s = HotplugState::new(cpu_online, cpu_offline)?;
        STATE.store(s.id(), Release);
        Ok(Self { _state: s })
    }
}

impl Drop for Hotplug {
    fn drop(&mut self) {
        STATE.store(-1, Release);
    }
}

/// The state instances register with.
pub(crate) fn state() -> Result<c_int> {
    let s = STATE.load(Acquire);
    if s < 0 {
        return Err(ENODEV);
    }
    Ok(s)
}

/// A CPU came online: usable masks grow back.
///
/// # Safety
///
/// Called by the hotplug core for an instance registered with [`state`]; `node` is only compared
/// with registered nodes, never dereferenced.
unsafe extern "C" fn cpu_online(cpu: c_uint, node: *mut bindings::hlist_node) -> c_int {
    instance::cpu_event(node, cpu, true);
    0
}

/// A CPU is going offline: usable masks shrink first. Never fails.
///
/// # Safety
///
/// As for [`cpu_online`].
unsafe extern "C" fn cpu_offline(cpu: c_uint, node: *mut bindings::hlist_node) -> c_int {
    instance::cpu_event(node, cpu, false);
    0
}
