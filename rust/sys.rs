// SPDX-License-Identifier: GPL-2.0

//! Abstractions over C that the kernel crate of 7.2 lacks, each in a file of its own and shaped
//! like a kernel crate module, so that it could be proposed there: a BH-off guard ([`BhGuard`]),
//! an RCU-replaced box ([`RcuBox`]), owned workqueues with `queue_work_on()` ([`Workqueue`]),
//! dynamic multi-instance CPU hotplug states ([`cpuhp`]), sysfs directories ([`SysfsDir`]), and
//! the CPU masks, locks and topology queries rpadata needs.
//!
//! They call the raw bindings of [`crate::ffi`] and the kernel's `bindings`; what rpadata does
//! with them (which flags, which CPU) is decided by the code that uses them.

mod bh;
mod cpu;
pub(crate) mod cpuhp;
mod kobject;
#[cfg(rpadata_kunit)]
mod kunit;
mod rcu;
mod workqueue;

pub(crate) use bh::*;
pub(crate) use cpu::*;
pub(crate) use kobject::*;
#[cfg(rpadata_kunit)]
pub(crate) use kunit::*;
pub(crate) use rcu::*;
pub(crate) use workqueue::*;
