// SPDX-License-Identifier: GPL-2.0

//! rpadata's sysfs files, under `/sys/kernel/rpadata/`.
//!
//! Replaces the `padata_sysfs_*` functions of kernel/padata.c:
//!
//! - `<instance>/parallel_cpumask`, `<instance>/serial_cpumask` (0644): the user-supplied masks in
//!   the kernel's `%*pb` format; writing one applies it like `set_cpumask`;
//! - `<instance>/usable_parallel_cpumask`, `usable_serial_cpumask`, `state` (`running` or
//!   `invalid`), `max_in_flight`, `in_flight` (read-only);
//! - `<instance>/shells/<id>/submitted`, `serialized`, `in_flight`, `reorder_pending`,
//!   `next_seq` (read-only; exact when the shell is idle).
//!
//! The attribute tables are in `shim.c`. A show or store finds its instance (and shell) by the
//! names of its directories, through the instance registry: a file of an instance being freed
//! answers `ENODEV`, and no file ever holds a pointer into an instance. Removing a directory waits
//! for callbacks in progress (kernfs), and instances remove theirs before their memory goes.

use crate::{
    cpumask,
    instance::{
        self,
        InstanceCore,
        ShellCore, //
    },
    sys::{
        self,
        SysfsNode,
        SysfsOut, //
    },
    types::MaskType, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    cpumask::CpumaskVar,
    ffi::c_char,
    prelude::*,
    sync::Arc, //
};

/// What a file belongs to.
enum Target {
    Instance(Arc<InstanceCore>),
    Shell(Arc<ShellCore>),
}

fn parse_u32(s: &CStr) -> Result<u32> {
    let s = s.to_str().map_err(|_| EINVAL)?;
    s.parse::<u32>().map_err(|_| EINVAL)
}

/// Finds the instance or shell whose directory is `node`.
fn target(node: SysfsNode<'_>) -> Result<Target> {
    let parent = node.parent().ok_or(ENODEV)?;
    if parent.name() == c"shells" {
        let inst_dir = parent.parent().ok_or(ENODEV)?;
        let inst = instance::lookup(inst_dir.name()).ok_or(ENODEV)?;
        let id = parse_u32(node.name())?;
        return inst.shell(id).map(Target::Shell).ok_or(ENODEV);
    }
    instance::lookup(node.name())
        .map(Target::Instance)
        .ok_or(ENODEV)
}

/// `show` of every rpadata file.
pub(crate) fn show(node: SysfsNode<'_>, attr: &CStr, out: &mut SysfsOut) -> Result<usize> {
    match target(node)? {
        Target::Instance(inst) => show_instance(&inst, attr, out),
        Target::Shell(shell) => show_shell(&shell, attr, out),
    }
}

fn show_instance(inst: &InstanceCore, attr: &CStr, out: &mut SysfsOut) -> Result<usize> {
    let a = attr.to_bytes();
    match a {
        b"parallel_cpumask" => emit_mask(out, inst.user_mask(MaskType::Parallel)),
        b"serial_cpumask" => emit_mask(out, inst.user_mask(MaskType::Serial)),
        b"usable_parallel_cpumask" => emit_mask(out, inst.usable_mask(MaskType::Parallel)),
        b"usable_serial_cpumask" => emit_mask(out, inst.usable_mask(MaskType::Serial)),
        b"state" => out.emit(format_args!(
            "{}\n",
            if inst.is_valid() {
                "running"
            } else {
                "invalid"
            }
        )),
        b"max_in_flight" => out.emit(format_args!("{}\n", inst.max_in_flight())),
        b"in_flight" => out.emit(format_args!("{}\n", inst.in_flight())),
        _ => Err(EIO),
    }
}

fn emit_mask(out: &mut SysfsOut, mask: Result<CpumaskVar>) -> Result<usize> {
    let mask = mask?;
    out.emit_cpumask(&mask)
}

fn show_shell(shell: &ShellCore, attr: &CStr, out: &mut SysfsOut) -> Result<usize> {
    let s = shell.stats();
    match attr.to_bytes() {
        b"submitted" => out.emit(format_args!("{}\n", s.submitted)),
        b"serialized" => out.emit(format_args!("{}\n", s.serialized)),
        b"in_flight" => out.emit(format_args!("{}\n", s.in_flight)),
        b"reorder_pending" => out.emit(format_args!("{}\n", s.reorder_pending)),
        b"next_seq" => out.emit(format_args!("{}\n", s.next_seq)),
        _ => Err(EIO),
    }
}

/// `store` of the writable files: the two user masks.
///
/// Accepts what `%*pb` prints (comma-separated 32-bit hex groups, an optional trailing newline).
/// Errors, each leaving the mask as it was: `EINVAL` for empty or malformed text or an all-zero
/// mask, `EOVERFLOW` for a CPU at or above `nr_cpu_ids`. A mask naming only offline CPUs is
/// accepted and makes the instance invalid until one of them comes online.
pub(crate) fn store(node: SysfsNode<'_>, attr: &CStr, text: &[u8]) -> Result {
    let which = match attr.to_bytes() {
        b"parallel_cpumask" => MaskType::Parallel,
        b"serial_cpumask" => MaskType::Serial,
        _ => return Err(EIO),
    };
    let Target::Instance(inst) = target(node)? else {
        return Err(EIO);
    };
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if body.is_empty() || body.contains(&0) {
        return Err(EINVAL);
    }
    let mask = sys::parse_cpumask(body)?;
    if cpumask::is_empty(&mask) {
        return Err(EINVAL);
    }
    inst.set_cpumask(which, &mask)
}

/// Entry point of every rpadata sysfs file's show (see `shim.c`).
///
/// # Safety
///
/// Called by sysfs with a live kobject, a NUL-terminated attribute name and a `PAGE_SIZE` buffer.
#[no_mangle]
unsafe extern "C" fn rpadata_sysfs_show(
    kobj: *mut bindings::kobject,
    attr: *const c_char,
    buf: *mut c_char,
) -> isize {
    let (Some(kobj), Some(buf)) = (NonNull::new(kobj), NonNull::new(buf)) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: Sysfs keeps the kobject and its ancestors alive during the callback.
    let node = unsafe { SysfsNode::from_raw(kobj) };
    // SAFETY: A NUL-terminated static attribute name, per the safety requirements.
    let attr = unsafe { CStr::from_char_ptr(attr) };
    // SAFETY: `buf` is the callback's page, and `out` does not outlive the callback.
    let mut out = unsafe { SysfsOut::from_raw(buf) };
    match show(node, attr, &mut out) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Entry point of every rpadata sysfs file's store (see `shim.c`).
///
/// # Safety
///
/// Called by sysfs with a live kobject, a NUL-terminated attribute name and `count` readable
/// bytes at `buf`.
#[no_mangle]
unsafe extern "C" fn rpadata_sysfs_store(
    kobj: *mut bindings::kobject,
    attr: *const c_char,
    buf: *const c_char,
    count: usize,
) -> isize {
    let Some(kobj) = NonNull::new(kobj) else {
        return EINVAL.to_errno() as isize;
    };
    if buf.is_null() {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: Sysfs keeps the kobject and its ancestors alive during the callback.
    let node = unsafe { SysfsNode::from_raw(kobj) };
    // SAFETY: As for show.
    let attr = unsafe { CStr::from_char_ptr(attr) };
    // SAFETY: `count` readable bytes per the safety requirements, borrowed for the call.
    let text = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match store(node, attr, text) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}
