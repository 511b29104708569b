// SPDX-License-Identifier: GPL-2.0

//! sysfs directories: kobjects rpadata owns, the directories its show and store callbacks are
//! called for, and the page a show callback fills.
//!
//! C headers: [`include/linux/kobject.h`](srctree/include/linux/kobject.h),
//! [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h).

use crate::ffi;
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    cpumask::Cpumask,
    ffi::c_char,
    prelude::*, //
};

/// A directory in sysfs, backed by a kobject created with `kobject_create_and_add()`.
///
/// # Invariants
///
/// `self.0` points to a live kobject of which this value owns one reference.
pub(crate) struct SysfsDir(NonNull<bindings::kobject>);

// SAFETY: A kobject reference may be dropped from any thread; `kobject_put()` has no thread
// affinity.
unsafe impl Send for SysfsDir {}

// SAFETY: `SysfsDir` exposes no interior mutability; kobject functions taking a shared kobject
// pointer serialise internally.
unsafe impl Sync for SysfsDir {}

impl SysfsDir {
    /// Creates `/sys/kernel/<name>`.
    pub(crate) fn new_in_kernel(name: &CStr) -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up during boot, before any module loads, and never changes.
        let parent = unsafe { bindings::kernel_kobj };
        // SAFETY: `name` is NUL-terminated and outlives the call (the kobject copies it); `parent`
        // is a live kobject.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        // INVARIANT: A non-NULL return is a new kobject whose one reference we now own.
        NonNull::new(kobj).map(Self).ok_or(ENOMEM)
    }

    /// Creates `<self>/<name>`.
    pub(crate) fn new_child(&self, name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and copied by the callee; `self.0` is a live kobject
        // (type invariant), which the child references for as long as it exists.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), self.0.as_ptr()) };
        // INVARIANT: A non-NULL return is a new kobject whose one reference we now own.
        NonNull::new(kobj).map(Self).ok_or(ENOMEM)
    }
}

impl SysfsDir {
    /// Adds the attribute files of an instance (`shell == false`) or a shell directory (see the
    /// tables in `shim.c`); they go with the directory.
    pub(crate) fn add_files(&self, shell: bool) -> Result {
        // SAFETY: `self.0` is a live kobject (type invariant); the attribute group is static.
        kernel::error::to_result(unsafe { ffi::rpadata_shim_add_files(self.0.as_ptr(), shell) })
    }
}

impl Drop for SysfsDir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference to this live kobject. The directory
        // goes now (waiting for file accesses in progress), not when the last reference does, so
        // its name is free again when this returns.
        unsafe {
            bindings::kobject_del(self.0.as_ptr());
            bindings::kobject_put(self.0.as_ptr());
        }
    }
}

/// A sysfs directory as a show/store callback sees it.
///
/// # Invariants
///
/// `self.0` points to a kobject that, with its ancestors, is alive for `'a`: the callback runs
/// under kernfs' active reference on the file, and removing the directory waits for it.
#[derive(Clone, Copy)]
pub(crate) struct SysfsNode<'a>(NonNull<bindings::kobject>, PhantomData<&'a ()>);

impl<'a> SysfsNode<'a> {
    /// The directory of `kobj`.
    ///
    /// # Safety
    ///
    /// `kobj` must point to a kobject that, with its ancestors, stays alive for `'a`, as during a
    /// sysfs show or store callback on one of its files.
    pub(crate) unsafe fn from_raw(kobj: NonNull<bindings::kobject>) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(kobj, PhantomData)
    }

    /// The directory's name.
    pub(crate) fn name(&self) -> &'a CStr {
        // SAFETY: The kobject is alive for `'a` (type invariant) and its name is a NUL-terminated
        // string that does not change while it is in sysfs.
        unsafe { CStr::from_char_ptr(ffi::rpadata_shim_kobj_name(self.0.as_ptr())) }
    }

    /// The parent directory, if any.
    pub(crate) fn parent(&self) -> Option<SysfsNode<'a>> {
        // SAFETY: The kobject is alive (type invariant).
        let p = unsafe { ffi::rpadata_shim_kobj_parent(self.0.as_ptr()) };
        // INVARIANT: A child holds a reference on its parent, so the parent lives as long.
        NonNull::new(p).map(|p| SysfsNode(p, PhantomData))
    }
}

/// The page a show callback writes into.
///
/// # Invariants
///
/// `self.0` points to the `PAGE_SIZE` buffer of a sysfs show callback in progress.
pub(crate) struct SysfsOut(NonNull<c_char>);

impl SysfsOut {
    /// The page `buf` of a show callback.
    ///
    /// # Safety
    ///
    /// `buf` must be the `PAGE_SIZE` buffer of a sysfs show callback in progress, for as long as
    /// the value is used.
    pub(crate) unsafe fn from_raw(buf: NonNull<c_char>) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(buf)
    }

    /// Writes formatted text; returns the length written.
    pub(crate) fn emit(&mut self, args: core::fmt::Arguments<'_>) -> Result<usize> {
        // SAFETY: The buffer is a sysfs page (type invariant); `%pA` formats the `Arguments` it is
        // given a pointer to, which lives across the call.
        let n = unsafe {
            bindings::sysfs_emit(
                self.0.as_ptr(),
                c"%pA".as_char_ptr(),
                core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
            )
        };
        usize::try_from(n).map_err(|_| EINVAL)
    }

    /// Writes `mask` in the kernel's `%*pb` format, with a newline.
    pub(crate) fn emit_cpumask(&mut self, mask: &Cpumask) -> Result<usize> {
        // SAFETY: The buffer is a sysfs page (type invariant); `mask` is a valid cpumask.
        let n = unsafe { ffi::rpadata_shim_emit_cpumask(self.0.as_ptr(), mask.as_raw()) };
        usize::try_from(n).map_err(|_| EINVAL)
    }
}
