// SPDX-License-Identifier: GPL-2.0

//! rpadata: padata, the kernel's parallel execution mechanism, rebuilt in Rust.
//!
//! This is the crate root: it only wires the modules together and declares the kernel module.
//! What rpadata does and how to use it is in `Documentation/rpadata.rst`; each concept lives in
//! its own file, and raw bindings are confined to [`ffi`], [`job`] and `shim.c`.

mod capi;
mod cpumask;
mod ffi;
mod hotplug;
mod inflight;
mod instance;
mod job;
mod mt;
mod params;
mod queue;
mod shell;
mod stream;
mod sysfs;

#[cfg(rpadata_kunit)]
mod tests;

pub use cpumask::MaskType;
pub use instance::{Instance, InstanceOptions};
pub use job::{Job, JobBox, Pending};
pub use mt::{run as do_multithreaded, run_reduce as do_multithreaded_reduce, Cancel, MtParams};
pub use shell::{Shell, ShellStats};

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

/// Module state: what exists between `insmod` and `rmmod`.
struct RpadataModule {
    _hotplug: hotplug::Hotplug,
}

impl kernel::Module for RpadataModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = params::Params::from_module()?;
        job::check_c_layout()?;
        // SAFETY: Module init runs once, before anything else uses the registry.
        unsafe { instance::registry_init() }?;
        let hotplug = match hotplug::Hotplug::new() {
            Ok(h) => h,
            Err(e) => {
                instance::registry_exit();
                return Err(e);
            }
        };
        queue::set_poll_us(params.poll_us);
        pr_info!(
            "loaded (max_in_flight={}, poll_us={})\n",
            params.max_in_flight,
            params.poll_us
        );
        Ok(Self { _hotplug: hotplug })
    }
}

impl Drop for RpadataModule {
    fn drop(&mut self) {
        instance::registry_exit();
    }
}
