// SPDX-License-Identifier: GPL-2.0

//! Raw declarations of rpadata's C ABI (`include/rpadata.h`) for Rust modules.
//!
//! The only unsafe part of the client wrapper (`rpadata.rs`): the `extern "C"` declarations and
//! `struct rpadata_priv`/`struct rpadata_mt_job` laid out as in the header. rpadata checks the
//! header's layout of `struct rpadata_priv` against its own when it loads.

use core::marker::{
    PhantomData,
    PhantomPinned, //
};
use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int,
        c_uint,
        c_ulong,
        c_void, //
    }, //
};

/// `struct rpadata_instance` (opaque).
#[repr(C)]
pub(crate) struct RawInstance {
    _private: [u8; 0],
    _p: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct rpadata_shell` (opaque).
#[repr(C)]
pub(crate) struct RawShell {
    _private: [u8; 0],
    _p: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct rpadata_priv`, field for field (rpadata checks the header's layout against its own when
/// it loads).
#[repr(C)]
pub(crate) struct RawPriv {
    next: *mut RawPriv,
    qnext: *mut RawPriv,
    owner: *const c_void,
    seq: c_uint,
    cb_cpu: c_int,
    state: c_uint,
    stream: c_uint,
    parallel: Option<unsafe extern "C" fn(*mut RawPriv)>,
    serial: Option<unsafe extern "C" fn(*mut RawPriv)>,
}

impl RawPriv {
    /// An idle job with the given callbacks: the private fields zeroed, as the header asks.
    pub(crate) fn new(
        parallel: unsafe extern "C" fn(*mut RawPriv),
        serial: unsafe extern "C" fn(*mut RawPriv),
    ) -> Self {
        Self {
            next: core::ptr::null_mut(),
            qnext: core::ptr::null_mut(),
            owner: core::ptr::null(),
            seq: 0,
            cb_cpu: 0,
            state: 0,
            stream: 0,
            parallel: Some(parallel),
            serial: Some(serial),
        }
    }
}

/// `struct rpadata_mt_job`.
#[repr(C)]
pub(crate) struct RawMtJob {
    pub(crate) thread_fn: Option<unsafe extern "C" fn(c_ulong, c_ulong, *mut c_void) -> c_int>,
    pub(crate) fn_arg: *mut c_void,
    pub(crate) start: c_ulong,
    pub(crate) size: c_ulong,
    pub(crate) align: c_ulong,
    pub(crate) min_chunk: c_ulong,
    pub(crate) max_threads: c_int,
    pub(crate) numa_aware: bool,
}

/// `RPADATA_CPU_SERIAL`.
pub(crate) const CPU_SERIAL: c_int = 0x01;
/// `RPADATA_CPU_PARALLEL`.
pub(crate) const CPU_PARALLEL: c_int = 0x02;

/// `RPADATA_SERIAL_SOFTIRQ`.
pub(crate) const SERIAL_SOFTIRQ: c_uint = 0x01;

extern "C" {
    pub(crate) fn rpadata_alloc(name: *const c_char) -> *mut RawInstance;
    pub(crate) fn rpadata_alloc_flags(name: *const c_char, flags: c_uint) -> *mut RawInstance;
    pub(crate) fn rpadata_free(pinst: *mut RawInstance);
    pub(crate) fn rpadata_alloc_shell(pinst: *mut RawInstance) -> *mut RawShell;
    pub(crate) fn rpadata_free_shell(ps: *mut RawShell);
    pub(crate) fn rpadata_do_parallel(
        ps: *mut RawShell,
        padata: *mut RawPriv,
        cb_cpu: *mut c_int,
    ) -> c_int;
    pub(crate) fn rpadata_do_serial(padata: *mut RawPriv);
    pub(crate) fn rpadata_set_cpumask(
        pinst: *mut RawInstance,
        cpumask_type: c_int,
        cpumask: *const bindings::cpumask,
    ) -> c_int;
    pub(crate) fn rpadata_do_multithreaded(job: *const RawMtJob) -> c_int;
}
