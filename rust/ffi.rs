// SPDX-License-Identifier: GPL-2.0

//! Raw bindings to `shim.c`: helpers for the static inline functions and macros that have no
//! binding in 7.2, and the tables of rpadata's sysfs attributes.
//!
//! Nothing here is safe to call without its abstraction: `sys/` wraps each one once, in a type
//! whose invariants say what its pointers mean; the job header (`job.rs`) reads the layout table.

use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int,
        c_uint, //
    }, //
};

/// A CPU hotplug callback of a multi-instance state: `(cpu, node)`.
pub(crate) type HotplugFn = unsafe extern "C" fn(c_uint, *mut bindings::hlist_node) -> c_int;

extern "C" {
    pub(crate) fn rpadata_shim_bh_disable() -> c_uint;
    pub(crate) fn rpadata_shim_bh_enable();
    pub(crate) fn rpadata_shim_softirq_serve_on_enable() -> bool;
    pub(crate) fn rpadata_shim_cond_resched();
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_in_softirq_or_bh_off() -> bool;
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_in_serving_softirq() -> bool;
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_kunit_skip(reason: *const c_char);
    pub(crate) static rpadata_priv_layout: [usize; 10];
    pub(crate) fn rpadata_shim_add_files(kobj: *mut bindings::kobject, shell: bool) -> c_int;
    pub(crate) fn rpadata_shim_kobj_name(kobj: *const bindings::kobject) -> *const c_char;
    pub(crate) fn rpadata_shim_kobj_parent(
        kobj: *const bindings::kobject,
    ) -> *mut bindings::kobject;
    pub(crate) fn rpadata_shim_emit_cpumask(
        buf: *mut c_char,
        mask: *const bindings::cpumask,
    ) -> c_int;
    pub(crate) fn rpadata_shim_parse_cpumask(
        buf: *const c_char,
        count: usize,
        mask: *mut bindings::cpumask,
    ) -> c_int;
    pub(crate) fn rpadata_shim_fatal_signal_pending() -> bool;
    pub(crate) fn rpadata_shim_cpu_uncontended() -> bool;
    pub(crate) fn rpadata_shim_next_node_with_cpus(node: c_int) -> c_int;
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_helper_cpu(node: c_int, cursor: c_int, here: c_uint) -> c_uint;
    pub(crate) fn rpadata_shim_queue_helper(
        wq: *mut bindings::workqueue_struct,
        work: *mut bindings::work_struct,
        node: c_int,
        cursor: *mut c_int,
    ) -> bool;
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_numa_node_id() -> c_int;
    #[cfg(rpadata_kunit)]
    pub(crate) fn rpadata_shim_nodes_with_cpus() -> c_uint;
    pub(crate) fn rpadata_shim_hotplug_setup(online: HotplugFn, offline: HotplugFn) -> c_int;
}
