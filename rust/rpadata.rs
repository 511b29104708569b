// SPDX-License-Identifier: GPL-2.0

//! rpadata: padata, the kernel's parallel execution mechanism, rebuilt in Rust.
//!
//! This is the crate root: it only wires the modules together and declares the kernel module.
//! What rpadata does and how to use it is in `Documentation/rpadata.rst`. Each concept lives in
//! its own file, and imports only point down:
//!
//! - [`ffi`] and `shim.c`: the raw bindings the kernel crate lacks in 7.2; [`params`],
//!   [`inflight`], [`types`]: leaves.
//! - [`sys`]: abstractions over those bindings, each a file shaped like a kernel crate module (BH
//!   guard, RCU box, workqueues, CPU hotplug states, sysfs directories, CPUs); [`cpumask`]: the
//!   usable masks on top of them.
//! - The engine: [`job`] (the header, lists, the reorder list), [`queue`] (per-CPU job queues),
//!   [`stream`] (order across callback CPU changes), [`instance`] with its child `shell` and the
//!   shell's child `boxed` (jobs with a Rust payload).
//! - On top: [`mt`] (multithreaded jobs), [`capi`] (the C ABI), [`sysfs`].
//!
//! `client/`, the safe API for other modules, compiles [`types`] and `instance/shell/boxed.rs` in
//! over the C ABI: one definition of each type.

mod capi;
mod cpumask;
mod ffi;
mod inflight;
mod instance;
mod job;
mod mt;
mod params;
mod queue;
mod stream;
mod sys;
mod sysfs;
mod types;

#[cfg(rpadata_kunit)]
mod tests;

pub use instance::{
    Instance,
    InstanceOptions,
    Job,
    JobBox,
    Pending,
    Shell,
    ShellStats, //
};
pub use mt::{
    run as do_multithreaded,
    run_reduce as do_multithreaded_reduce,
    Cancel, //
};
pub use types::{
    MaskType,
    MtParams, //
};

use kernel::prelude::*;

module! {
    type: RpadataModule,
    name: "rpadata",
    authors: ["rpadata developers"],
    description: "padata's parallel execution mechanism, rebuilt in Rust",
    license: "GPL",
    params: {
        max_in_flight: u32 {
            default: 1000,
            description: "Default limit of jobs per shell not yet passed to a serial queue (1..=1048576)",
        },
        poll_us: u32 {
            default: 0,
            description: "How long an idle parallel worker polls for jobs, in us (0..=1000, 0: never)",
        },
    },
}

/// Module state: what exists between `insmod` and `rmmod`. Set up registry first, torn down in
/// the reverse order (fields drop in declaration order).
#[pin_data]
struct RpadataModule {
    /// The CPU hotplug state instances register with; no instance is left when it goes.
    _hotplug: sys::cpuhp::Hotplug<instance::Registry>,
    /// The instance list and `/sys/kernel/rpadata`, whose lock the hotplug callbacks take.
    _registry: instance::Registered,
}

impl kernel::InPlaceModule for RpadataModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(|| {
            let params = params::Params::from_module()?;
            job::check_c_layout()?;
            Ok(try_pin_init!(Self {
                // SAFETY: Module init runs once, before anything else uses the registry.
                _registry: unsafe { instance::Registered::new() }?,
                _hotplug: sys::cpuhp::Hotplug::new()?,
            })
            .pin_chain(move |_| {
                pr_info!(
                    "loaded (max_in_flight={}, poll_us={})\n",
                    params.max_in_flight,
                    params.poll_us
                );
                Ok(())
            }))
        })
    }
}
